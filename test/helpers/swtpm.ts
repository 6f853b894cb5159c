/**
 * Test helper: a throw-away swtpm (TPM 2.0) on a free TCP port, driven with tpm2-tools.
 *
 * Usage:
 *   const tpm = await startSwtpm({ createEkCerts: true });
 *   await tpm.tpm2('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);   // files land in tpm.dir
 *   await tpm.stop();
 *
 * swtpm_setup runs non-interactively. As root it uses swtpm's default local CA
 * (/etc/swtpm-localca.conf, state in /var/lib/swtpm-localca, created on first use). When that
 * directory is not writable (non-root CI), a private CA is configured inside the temp dir instead.
 * `caCerts` lists the PEM files of the CA that signed the EK certificates (root first).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { available } from './require.ts';

export interface SwtpmHandle {
  /** TPM2TOOLS_TCTI value, e.g. "swtpm:host=127.0.0.1,port=2321". */
  tcti: string;
  /** Temp directory; tpm2() runs with it as the working directory. */
  dir: string;
  port: number;
  /** PEM files of the local CA that signed the EK/platform certificates (root CA, then issuer), when createEkCerts. */
  caCerts: string[];
  /**
   * Runs a tpm2-tools binary ("tpm2_quote" or "quote") against this TPM, in `dir`. Non-zero exit throws
   * with stderr. Afterwards transient objects are flushed (`tpm2_flushcontext -t`) unless keepTransients;
   * sessions are left alone so policy sessions survive across calls.
   */
  tpm2(
    tool: string,
    args: string[],
    opts?: { input?: Uint8Array; keepTransients?: boolean },
  ): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export interface StartSwtpmOptions {
  /** Create EK certificates (RSA-2048 at 0x1c00002, ECC at 0x1c00016/0x1c0000a) and a platform certificate. */
  createEkCerts?: boolean;
  /** Use a CA private to this TPM (under dir/localca) instead of swtpm's default local CA. */
  privateCa?: boolean;
  /** PCR banks to activate; default sha1,sha256 so multi-bank quotes work. */
  pcrBanks?: string[];
}

function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

/** True when swtpm, swtpm_setup and tpm2-tools are installed. */
export function haveSwtpm(): boolean {
  return available('swtpm and tpm2-tools', onPath('swtpm') && onPath('swtpm_setup') && onPath('tpm2_startup'), 'apt-get install swtpm swtpm-tools tpm2-tools');
}

/** True when `bin` is on PATH; throws under BOOTGATE_TEST_REQUIRE=1 when it is not. */
export function haveTool(bin: string, pkg = 'tpm2-tools'): boolean {
  return available(bin, onPath(bin), `${bin} is not on PATH (apt-get install ${pkg})`);
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Uint8Array; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${cmd} ${args.join(' ')} failed (${err.code ?? err.signal ?? 'error'}): ${stderr.trim() || err.message}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (opts.input) child.stdin?.end(Buffer.from(opts.input));
    else child.stdin?.end();
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port P with P+1 also free (swtpm's control channel). */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 20000);
    if ((await portFree(p)) && (await portFree(p + 1))) return p;
  }
  throw new Error('no free TCP port pair for swtpm');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const DEFAULT_CA_DIR = '/var/lib/swtpm-localca';

function defaultCaUsable(): boolean {
  try {
    if (existsSync(DEFAULT_CA_DIR)) accessSync(DEFAULT_CA_DIR, constants.W_OK);
    else accessSync(path.dirname(DEFAULT_CA_DIR), constants.W_OK);
    return existsSync('/etc/swtpm_setup.conf');
  } catch {
    return false;
  }
}

/** Writes a swtpm_setup.conf + swtpm-localca.conf pair keeping the CA state under `dir`. */
function privateCaConfig(dir: string): { setupConf: string; caDir: string } {
  const caDir = path.join(dir, 'localca');
  mkdirSync(caDir, { recursive: true });
  const caConf = path.join(dir, 'swtpm-localca.conf');
  writeFileSync(
    caConf,
    [`statedir = ${caDir}`, `signingkey = ${caDir}/signkey.pem`, `issuercert = ${caDir}/issuercert.pem`, `certserial = ${caDir}/certserial`, ''].join('\n'),
  );
  const caOpts = path.join(dir, 'swtpm-localca.options');
  writeFileSync(caOpts, '--platform-manufacturer bootgate-test\n--platform-version 2.1\n--platform-model swtpm\n');
  const setupConf = path.join(dir, 'swtpm_setup.conf');
  writeFileSync(
    setupConf,
    [`create_certs_tool = /usr/bin/swtpm_localca`, `create_certs_tool_config = ${caConf}`, `create_certs_tool_options = ${caOpts}`, ''].join('\n'),
  );
  return { setupConf, caDir };
}

export async function startSwtpm(opts: StartSwtpmOptions = {}): Promise<SwtpmHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootgate-swtpm-'));
  const state = path.join(dir, 'state');
  mkdirSync(state);
  const setupArgs = ['--tpm2', '--tpmstate', state, '--pcr-banks', (opts.pcrBanks ?? ['sha1', 'sha256']).join(',')];
  let caDir = DEFAULT_CA_DIR;
  if (opts.createEkCerts) {
    setupArgs.push('--create-ek-cert', '--create-platform-cert');
    if (opts.privateCa === true || !defaultCaUsable()) {
      const priv = privateCaConfig(dir);
      setupArgs.push('--config', priv.setupConf);
      caDir = priv.caDir;
    }
  }
  try {
    await run('swtpm_setup', setupArgs, { timeoutMs: 60_000 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let child: ChildProcess | undefined;
  let port = 0;
  let lastErr = '';
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePortPair();
    const proc = spawn(
      'swtpm',
      [
        'socket', '--tpm2',
        '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`,
        '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
        '--flags', 'not-need-init,startup-clear',
        '--tpmstate', `dir=${state}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let exited = false;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('exit', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await canConnect(port))) await new Promise((r) => setTimeout(r, 50));
    if (!exited && (await canConnect(port))) child = proc;
    else {
      lastErr = stderr || 'swtpm did not start listening';
      if (!exited) proc.kill('SIGKILL');
    }
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`swtpm failed to start: ${lastErr}`);
  }
  const proc = child;
  const tcti = `swtpm:host=127.0.0.1,port=${port}`;
  const env = { ...process.env, TPM2TOOLS_TCTI: tcti };
  const caCerts = opts.createEkCerts
    ? [path.join(caDir, 'swtpm-localca-rootca-cert.pem'), path.join(caDir, 'issuercert.pem')]
    : [];

  return {
    tcti,
    dir,
    port,
    caCerts,
    async tpm2(tool, args, runOpts) {
      const bin = tool.startsWith('tpm2_') ? tool : `tpm2_${tool}`;
      const out = await run(bin, args, { cwd: dir, env, ...(runOpts?.input ? { input: runOpts.input } : {}) });
      // Without a resource manager every tool leaves its transient objects loaded and swtpm runs out
      // of object slots after three; their saved contexts (*.ctx) stay valid after a flush.
      if (runOpts?.keepTransients !== true && bin !== 'tpm2_flushcontext') await run('tpm2_flushcontext', ['-t'], { cwd: dir, env });
      return out;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
