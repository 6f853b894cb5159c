/**
 * contrib/host/bootgate-host.sh (contract §9) against swtpm and a live verifier, run with a PATH that
 * holds exactly the tools it may use (bash, coreutils, curl, jq, openssl, tpm2-tools): no node, no
 * python. The host enrolls (RSA EK certificate from NV 0x1c00002, and an ECC P-256 one from
 * 0x1c0000a), attests with a profile learned by `bootgate golden learn` from the very log it sends
 * (PCR 14 included, because it quotes the verifier's pcrSelection), fails with a tampered log,
 * reloads its AK after the saved context is gone, and receives a secret as a JWE that the test
 * decrypts with the binding key the script made. Refusals exit 1 and errors 2, with messages.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compactDecrypt, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootEvents, encodeEventLog, fakeImage, referencePlatform } from '../tpm-sim/index.ts';
import { runBootgate } from './helpers/cli.ts';
import { repoRoot } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { haveSwtpm, haveTool, startSwtpm, type SwtpmHandle } from './helpers/swtpm.ts';
import { measureBoot, provisionP256EkCert, startupAtLocality3 } from './helpers/swtpm-host.ts';

const SCRIPT = path.join(repoRoot, 'contrib', 'host', 'bootgate-host.sh');
const BANKS = ['sha1', 'sha256'] as const;

/** What the script may run: bash, these coreutils, curl, jq, openssl and these tpm2-tools. */
const TOOLS = [
  'bash', 'base64', 'cat', 'chmod', 'cp', 'head', 'mkdir', 'mktemp', 'od', 'rm', 'sha256sum', 'stat', 'tail', 'tr',
  'curl', 'jq', 'openssl',
  'tpm2_activatecredential', 'tpm2_createak', 'tpm2_createek', 'tpm2_flushcontext', 'tpm2_load', 'tpm2_nvread',
  'tpm2_nvreadpublic', 'tpm2_policysecret', 'tpm2_quote', 'tpm2_readpublic', 'tpm2_startauthsession',
];

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return path.join(dir, bin);
    } catch {
      // keep looking
    }
  }
  return undefined;
}

const present = haveSwtpm() && ['curl', 'jq', 'openssl'].every((t) => haveTool(t, t));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!present)('contrib/host/bootgate-host.sh against swtpm (swtpm, tpm2-tools, curl, jq or openssl not installed)', () => {
  let tpm: SwtpmHandle;
  let server: TestServer;
  let dir = '';
  let bin = '';
  let eventLog = '';
  let tampered = '';
  const hostId = `script-rsa-${process.pid}`;
  const eccHostId = `script-ecc-${process.pid}`;
  const profile = `script-host-${process.pid}`;

  function script(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      // Only these variables: the script finds its tools through PATH alone.
      const child = spawn(SCRIPT, args, { env: { PATH: bin, TPM2TOOLS_TCTI: tpm.tcti, HOME: dir, TMPDIR: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }
  const common = (id = hostId, state = 'state-rsa'): string[] => ['--server', server.baseUrl, '--host-id', id, '--state', path.join(dir, state)];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bootgate-host-script-'));
    bin = path.join(dir, 'bin');
    mkdirSync(bin);
    for (const t of TOOLS) {
      const at = which(t);
      if (at === undefined) throw new Error(`${t} is not on PATH`);
      symlinkSync(at, path.join(bin, t));
    }

    tpm = await startSwtpm({ createEkCerts: true, privateCa: true, pcrBanks: [...BANKS] });
    await startupAtLocality3(tpm);
    await provisionP256EkCert(tpm);
    const events = bootEvents(referencePlatform());
    await measureBoot(tpm, events, BANKS);
    eventLog = path.join(dir, 'binary_bios_measurements');
    writeFileSync(eventLog, encodeEventLog(BANKS, events));
    // The same machine's log with another initrd than the one the TPM measured.
    const other = referencePlatform();
    other.initrd.contents = fakeImage('initrd rebuilt', other.initrd.contents.length);
    tampered = path.join(dir, 'tampered.bin');
    writeFileSync(tampered, encodeEventLog(BANKS, bootEvents(other)));

    const roots = path.join(dir, 'ek-roots');
    mkdirSync(roots);
    tpm.caCerts.forEach((f, i) => writeFileSync(path.join(roots, `ca-${i}.pem`), readFileSync(f)));
    server = await startTestServer({ env: { BOOTGATE_EK_ROOTS: roots } });

    // The operator learns the profile from the host's log with the CLI and stores it.
    const learned = await runBootgate(['golden', 'learn', '--eventlog', eventLog, '--name', profile]);
    expect(learned.code, learned.stderr).toBe(0);
    const put = await server.call('PUT', `/v1/golden/${profile}`, { key: server.adminKey, body: JSON.parse(learned.stdout) });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await tpm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs with a PATH of bash, coreutils, curl, jq, openssl and tpm2-tools only', () => {
    const names = readdirSync(bin);
    expect(names.sort()).toEqual([...TOOLS].sort());
    expect(names.some((n) => /node|python/i.test(n))).toBe(false);
  });

  it('--help explains enroll, attest, release, --state and the exit codes', async () => {
    const r = await script(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['enroll', 'attest', 'release', '--state DIR', '--binding-key', 'Exit status', '0x1c00002', '0x1c0000a']) expect(r.stdout).toContain(word);
  });

  it('enrolls with the RSA EK certificate from NV and the profile it asks for', async () => {
    const r = await script(['enroll', ...common(), '--profile', profile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`enrolled ${hostId}\n`);
    const view = await server.call('GET', `/v1/hosts/${hostId}`, { key: server.adminKey });
    expect(view.json).toMatchObject({ hostId, profiles: [profile] });
  });

  it('attests: quotes the verifier pcrSelection (PCR 14 too) and passes with the learned profile', async () => {
    const r = await script(['attest', ...common(), '--eventlog', eventLog]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const answer = JSON.parse(r.stdout) as { verdict: string; failures: unknown[]; profile: string; pcrs: { sha256: Record<string, string> }; token: string };
    expect(answer.failures).toEqual([]);
    expect(answer.verdict).toBe('pass');
    expect(answer.profile).toBe(`${profile}@1`);
    expect(Object.keys(answer.pcrs.sha256).map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14]);
    expect(answer.token.split('.')).toHaveLength(3);
  });

  it('loads the AK again under a re-created EK when its saved context is gone', async () => {
    rmSync(path.join(dir, 'state-rsa', 'ak.ctx'));
    const r = await script(['attest', ...common(), '--eventlog', eventLog]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('pass');
  });

  it('after a reboot (TPM reset, the same boot measured again) the stale saved context is replaced and the host passes', async () => {
    await startupAtLocality3(tpm);
    await measureBoot(tpm, bootEvents(referencePlatform()), BANKS);
    const r = await script(['attest', ...common(), '--eventlog', eventLog]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('pass');
  });

  it('a tampered log fails: exit 1, with the verdict and failures printed', async () => {
    const r = await script(['attest', ...common(), '--eventlog', tampered]);
    expect(r.code).toBe(1);
    const answer = JSON.parse(r.stdout) as { verdict: string; failures: Array<{ code: string; pcr?: number }>; token?: string };
    expect(answer.verdict).toBe('fail');
    expect(answer.token).toBeUndefined();
    expect(answer.failures.filter((f) => f.code === 'pcr_replay_mismatch').map((f) => f.pcr)).toContain(9);
  });

  it('release: attests with a binding key made by openssl and prints a JWE that only that key decrypts', async () => {
    const value = randomBytes(32);
    const put = await server.call('PUT', '/v1/secrets/disk-key', { key: server.adminKey, body: { value: value.toString('base64'), policy: { hosts: [hostId] } } });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    const keyFile = path.join(dir, 'state-rsa', 'binding.pem');
    const r = await script(['release', ...common(), '--eventlog', eventLog, '--secret', 'disk-key', '--binding-key', keyFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const jwe = r.stdout.trim();
    expect(jwe.split('.')).toHaveLength(5);
    const pem = readFileSync(keyFile, 'utf8');
    expect(pem).toContain('BEGIN PRIVATE KEY');
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, await importPKCS8(pem, 'ECDH-ES+A256KW'));
    expect(protectedHeader).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' });
    expect(Buffer.from(plaintext).equals(value)).toBe(true);

    // The same key file again: the key is kept, so the release still decrypts with it.
    const again = await script(['release', ...common(), '--eventlog', eventLog, '--secret', 'disk-key', '--binding-key', keyFile]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(keyFile, 'utf8')).toBe(pem);
    expect(Buffer.from((await compactDecrypt(again.stdout.trim(), await importPKCS8(pem, 'ECDH-ES+A256KW'))).plaintext).equals(value)).toBe(true);
  });

  it('a release the policy refuses exits 1 and says why; so does a tampered log', async () => {
    const put = await server.call('PUT', '/v1/secrets/other-key', { key: server.adminKey, body: { value: 'AAAA', policy: { hosts: ['someone-else'] } } });
    expect(put.status).toBe(201);
    const keyFile = path.join(dir, 'state-rsa', 'binding.pem');
    const denied = await script(['release', ...common(), '--eventlog', eventLog, '--secret', 'other-key', '--binding-key', keyFile]);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/the verifier refused the release of other-key: HTTP 403 policy_denied/);
    const failed = await script(['release', ...common(), '--eventlog', tampered, '--secret', 'disk-key', '--binding-key', keyFile]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/the attestation failed.*pcr_replay_mismatch/);
  });

  it('enrolls and attests with the ECC P-256 EK certificate from NV 0x1c0000a', async () => {
    const enrolled = await script(['enroll', ...common(eccHostId, 'state-ecc'), '--ek', 'ecc', '--profile', profile]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.stdout).toBe(`enrolled ${eccHostId}\n`);
    const r = await script(['attest', ...common(eccHostId, 'state-ecc'), '--eventlog', eventLog]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('pass');
  });

  it('errors exit 2 with a message: unknown host, unreachable verifier, unreachable TPM, missing option', async () => {
    const unknown = await script(['attest', ...common('no-such-host'), '--eventlog', eventLog]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/the verifier answered the nonce request with HTTP 404 unknown_host/);
    const offline = await script(['attest', '--server', 'http://127.0.0.1:9', '--host-id', hostId, '--state', path.join(dir, 'state-rsa'), '--eventlog', eventLog]);
    expect(offline.code).toBe(2);
    expect(offline.stderr).toMatch(/cannot reach the verifier at http:\/\/127\.0\.0\.1:9/);
    rmSync(path.join(dir, 'state-rsa', 'ak.ctx'));
    const noTpm = await script(['attest', ...common(), '--eventlog', eventLog], { TPM2TOOLS_TCTI: 'swtpm:host=127.0.0.1,port=9' });
    expect(noTpm.code).toBe(2);
    expect(noTpm.stderr).toMatch(/tpm2_createek failed, the TPM or its connection \(TPM2TOOLS_TCTI\) refused/);
    const usage = await script(['attest', '--server', server.baseUrl]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--host-id is required/);
  });
});

describe('contrib/host/bootgate-host.sh passes shellcheck', () => {
  it.skipIf(!haveTool('shellcheck', 'shellcheck'))('shellcheck reports nothing', async () => {
    const r = await new Promise<Run>((resolve) => {
      const child = spawn('shellcheck', ['--severity=style', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
