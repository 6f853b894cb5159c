/**
 * Test helper: a swtpm instance playing a measured-boot host, driven only through tpm2-tools,
 * swtpm_ioctl and swtpm's own local CA tool — what a provisioning line and a host agent would run.
 *
 *   startupAtLocality3(tpm)     TPM2_Startup(SU_CLEAR) sent at locality 3, as a TXT / Boot Guard
 *                               platform does, so PCR 0 starts at 00..03 like tpm-sim's reference platform.
 *   provisionP256EkCert(tpm)    certifies the default-template ECC P-256 EK with swtpm's local CA and
 *                               writes the certificate to NV 0x1c0000a (swtpm_setup 0.7 only certifies
 *                               RSA-2048 and the high-range P-384 EK).
 *   createKeys(tpm, kind)       tpm2_createek + tpm2_createak + tpm2_nvread of the EK certificate.
 *   activateCredential(...)     tpm2_activatecredential with the EK's PolicySecret(TPM_RH_ENDORSEMENT) session.
 *   measureBoot(tpm, events)    extends every measured event's digests, in log order, in batched tpm2_pcrextend calls.
 *   quote(tpm, ...)             tpm2_quote + the PCR values it wrote (-o), parsed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HashAlg } from '../../src/tpm/alg.ts';
import { parsePcrFile, parsePublic, parseTpmsAttest, pcrBanksToJson } from '../../src/tpm/index.ts';
import { toHex } from '../../src/util/encoding.ts';
import { EV, type SimEvent } from '../../tpm-sim/index.ts';
import type { SwtpmHandle } from './swtpm.ts';

const execFileP = promisify(execFile);

export type KeyKind = 'rsa' | 'ecc';

/** TCG EK Credential Profile NV indices of the default-template EK certificates. */
export const EK_CERT_NV: Record<KeyKind, string> = { rsa: '0x1c00002', ecc: '0x1c0000a' };

export const read = (tpm: SwtpmHandle, file: string): Uint8Array => new Uint8Array(readFileSync(path.join(tpm.dir, file)));

async function ioctl(tpm: SwtpmHandle, args: string[]): Promise<void> {
  await execFileP('swtpm_ioctl', ['--tcp', `127.0.0.1:${tpm.port + 1}`, ...args], { timeout: 10_000 });
}

/** Sends one raw TPM command on swtpm's data channel and returns the response. */
function rawCommand(tpm: SwtpmHandle, command: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: tpm.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('swtpm did not answer the raw command'));
    }, 10_000);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 10 && buf.length >= buf.readUInt32BE(2)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(new Uint8Array(buf));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => sock.write(command));
  });
}

/**
 * Re-initialises the TPM (CMD_INIT, like a platform reset) and issues TPM2_Startup(SU_CLEAR) at
 * locality 3. tpm2-tools' swtpm TCTI always talks at locality 0, so the startup command goes over the
 * raw data channel after swtpm_ioctl switched the locality. Everything after runs at locality 0 again.
 * Must run before any key is created: the reset invalidates saved transient contexts.
 */
export async function startupAtLocality3(tpm: SwtpmHandle): Promise<void> {
  await ioctl(tpm, ['-i']);
  await ioctl(tpm, ['-l', '3']);
  // TPM_ST_NO_SESSIONS, size 12, TPM_CC_Startup, TPM_SU_CLEAR
  const rsp = await rawCommand(tpm, Uint8Array.from(Buffer.from('80010000000c000001440000', 'hex')));
  await ioctl(tpm, ['-l', '0']);
  const rc = Buffer.from(rsp).readUInt32BE(6);
  if (rc !== 0) throw new Error(`TPM2_Startup at locality 3 failed: rc 0x${rc.toString(16)}`);
}

/**
 * Creates the default-template (L-2) ECC P-256 EK, has swtpm's local CA (the one swtpm_setup used for
 * the RSA EK certificate) certify it with swtpm_localca, and writes the DER certificate to NV 0x1c0000a
 * with the attributes swtpm_setup gives 0x1c00002.
 */
export async function provisionP256EkCert(tpm: SwtpmHandle): Promise<void> {
  await tpm.tpm2('tpm2_createek', ['-c', 'ek-prov.ctx', '-G', 'ecc', '-u', 'ek-prov.pub']);
  const pub = parsePublic(read(tpm, 'ek-prov.pub'));
  const point = pub.unique.ecc;
  if (pub.type !== 'ecc' || !point) throw new Error('tpm2_createek -G ecc did not create an ECC key');
  const privateConf = path.join(tpm.dir, 'swtpm-localca.conf');
  const outDir = path.join(tpm.dir, 'ek-p256-cert');
  mkdirSync(outDir, { recursive: true });
  await execFileP(
    'swtpm_localca',
    [
      '--type', 'ek',
      '--ek', `x=${toHex(point.x)},y=${toHex(point.y)},id=secp256r1`,
      '--dir', outDir,
      '--vmid', 'bootgate-e2e',
      '--tpm-spec-family', '2.0', '--tpm-spec-level', '0', '--tpm-spec-revision', '164',
      '--tpm-manufacturer', 'id:00001014', '--tpm-model', 'swtpm', '--tpm-version', 'id:20191023',
      '--tpm2',
      '--configfile', existsSync(privateConf) ? privateConf : '/etc/swtpm-localca.conf',
    ],
    { timeout: 30_000 },
  );
  const der = readFileSync(path.join(outDir, 'ek.cert'));
  writeFileSync(path.join(tpm.dir, 'ek-p256.der'), der);
  await tpm.tpm2('tpm2_nvdefine', [EK_CERT_NV.ecc, '-C', 'p', '-s', String(der.length), '-a', 'ppwrite|writedefine|ppread|ownerread|authread|no_da|platformcreate']);
  await tpm.tpm2('tpm2_nvwrite', [EK_CERT_NV.ecc, '-C', 'p', '-i', 'ek-p256.der']);
}

export interface HostKeys {
  kind: KeyKind;
  ekCtx: string;
  akCtx: string;
  ekCert: Uint8Array;
  ekPub: Uint8Array;
  akPub: Uint8Array;
  /** What tpm2_createak -n wrote. */
  akName: Uint8Array;
}

/** The EK (default template), an AK under it (RSASSA or ECDSA with SHA-256), and the EK certificate from NV. */
export async function createKeys(tpm: SwtpmHandle, kind: KeyKind): Promise<HostKeys> {
  const p = `${kind}-`;
  await tpm.tpm2('tpm2_createek', ['-c', `${p}ek.ctx`, '-G', kind, '-u', `${p}ek.pub`]);
  await tpm.tpm2('tpm2_createak', [
    '-C', `${p}ek.ctx`, '-c', `${p}ak.ctx`, '-G', kind, '-g', 'sha256', '-s', kind === 'rsa' ? 'rsassa' : 'ecdsa',
    '-u', `${p}ak.pub`, '-n', `${p}ak.name`,
  ]);
  await tpm.tpm2('tpm2_nvread', [EK_CERT_NV[kind], '-C', 'o', '-o', `${p}ekcert.der`]);
  return {
    kind,
    ekCtx: `${p}ek.ctx`,
    akCtx: `${p}ak.ctx`,
    ekCert: read(tpm, `${p}ekcert.der`),
    ekPub: read(tpm, `${p}ek.pub`),
    akPub: read(tpm, `${p}ak.pub`),
    akName: read(tpm, `${p}ak.name`),
  };
}

/** tpm2_activatecredential on a credential file; the default EK's policy is PolicySecret(TPM_RH_ENDORSEMENT). */
export async function activateCredential(tpm: SwtpmHandle, keys: HostKeys, credentialFile: Uint8Array): Promise<Uint8Array> {
  const p = `${keys.kind}-`;
  writeFileSync(path.join(tpm.dir, `${p}cred.bin`), credentialFile);
  await tpm.tpm2('tpm2_startauthsession', ['--policy-session', '-S', `${p}session.ctx`]);
  try {
    await tpm.tpm2('tpm2_policysecret', ['-S', `${p}session.ctx`, '-c', 'e']);
    await tpm.tpm2('tpm2_activatecredential', ['-c', keys.akCtx, '-C', keys.ekCtx, '-i', `${p}cred.bin`, '-o', `${p}secret.bin`, '-P', `session:${p}session.ctx`]);
  } finally {
    await tpm.tpm2('tpm2_flushcontext', [`${p}session.ctx`]).catch(() => undefined);
  }
  return read(tpm, `${p}secret.bin`);
}

/** Extends each measured event (EV_NO_ACTION carries no measurement) in log order, several per tpm2_pcrextend call. */
export async function measureBoot(tpm: SwtpmHandle, events: SimEvent[], banks: readonly HashAlg[]): Promise<number> {
  const specs = events
    .filter((e) => e.type !== EV.EV_NO_ACTION)
    .map((e) => {
      const parts = banks.map((b) => {
        const d = e.digests[b as keyof typeof e.digests];
        if (!d) throw new Error(`event type 0x${e.type.toString(16)} on PCR ${e.pcr} has no ${b} digest`);
        return `${b}=${toHex(d)}`;
      });
      return `${e.pcr}:${parts.join(',')}`;
    });
  // tpm2_pcrextend applies its arguments in order, one TPM2_PCR_Extend each; batches keep argv short.
  for (let i = 0; i < specs.length; i += 16) await tpm.tpm2('tpm2_pcrextend', specs.slice(i, i + 16));
  return specs.length;
}

export interface SwtpmQuote {
  quote: Uint8Array;
  signature: Uint8Array;
  /** PCR values tpm2_quote -o wrote, as contract JSON ({bank: {pcr: hex}}). */
  pcrs: Partial<Record<HashAlg, Record<string, string>>>;
}

/** tpm2_quote with the given selection (tpm2-tools syntax) and extraData; signature scheme hash sha256. */
export async function quote(tpm: SwtpmHandle, keys: HostKeys, selection: string, extraData: Uint8Array): Promise<SwtpmQuote> {
  const p = `${keys.kind}-`;
  await tpm.tpm2('tpm2_quote', [
    '-c', keys.akCtx, '-l', selection, '-q', toHex(extraData), '-m', `${p}quote.msg`, '-s', `${p}quote.sig`, '-o', `${p}pcrs.out`, '-g', 'sha256',
  ]);
  const msg = read(tpm, `${p}quote.msg`);
  const attest = parseTpmsAttest(msg);
  if (attest.attested.kind !== 'quote') throw new Error('tpm2_quote wrote something other than a quote');
  const values = parsePcrFile(read(tpm, `${p}pcrs.out`), attest.attested.pcrSelect).values;
  return { quote: msg, signature: read(tpm, `${p}quote.sig`), pcrs: pcrBanksToJson(values) };
}
