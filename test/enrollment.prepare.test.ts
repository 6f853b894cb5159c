/**
 * prepareEnrollment end to end against swtpm: the EK certificate from TPM NV, ek.pub / ak.pub
 * from tpm2-tools, and the credential file we produce activated by the same TPM. Also every
 * refusal code and status the HTTP layer forwards.
 */
import { createHash, webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EkRoots, ekRootsFromDer, loadEkRoots } from '../src/enrollment/ek-roots.ts';
import { type EnrollmentInput, prepareEnrollment } from '../src/enrollment/prepare.ts';
import { parseCredentialFile, parsePublic, publicKeyFromTpmt, tpmObjectName } from '../src/tpm/index.ts';
import { concatBytes, toHex } from '../src/util/encoding.ts';
import { ApiError } from '../src/util/errors.ts';
import { makeCa, makeEkCert } from './helpers/enrollment-certs.ts';
import { type SwtpmHandle, haveSwtpm, startSwtpm } from './helpers/swtpm.ts';

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw new Error(`expected ApiError, got ${String(err)}`);
  }
  throw new Error('expected ApiError, got success');
}

describe('prepareEnrollment input checks (no TPM needed)', () => {
  const base = (): EnrollmentInput => ({ hostId: 'rack12-node07', ekCert: new Uint8Array(0), akPub: new Uint8Array(0), roots: loadEkRoots(), now: new Date() });

  it('refuses host ids outside 1-128 of [A-Za-z0-9._:-] with 400 invalid_host_id', async () => {
    for (const hostId of ['', 'a b', 'x'.repeat(129), 'nöde', 'a/b', 'a\n']) {
      const e = await apiError(prepareEnrollment({ ...base(), hostId }));
      expect([e.status, e.code]).toEqual([400, 'invalid_host_id']);
    }
  });

  it('refuses an undecodable akPub with 400 malformed_ak_pub before looking at the certificate', async () => {
    const e = await apiError(prepareEnrollment({ ...base(), hostId: 'A.b:c_d-' + 'x'.repeat(120), akPub: Uint8Array.of(0, 3, 1, 2, 3) }));
    expect([e.status, e.code]).toEqual([400, 'malformed_ak_pub']);
  });

  it('refuses an expired EK certificate with 403 ek_cert_expired', async () => {
    const root = await makeCa('Prepare Test Root');
    const ekCert = await makeEkCert(root, { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    // SAMPLE_AK is a well-formed restricted signing AK, so the request reaches the certificate check.
    const e = await apiError(prepareEnrollment({ ...base(), ekCert, akPub: SAMPLE_AK, roots: ekRootsFromDer([root.der]) }));
    expect([e.status, e.code]).toEqual([403, 'ek_cert_expired']);
  });
});

/** A restricted ECDSA P-256 signing AK public area (TPM2B_PUBLIC) as tpm2_createak -G ecc writes it. */
const SAMPLE_AK = (() => {
  const hex =
    '0058' + // size
    '0023000b' + // ecc, sha256
    '00050072' + // fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign
    '0000' + // authPolicy
    '0010' + // symmetric NULL
    '0018000b' + // ECDSA sha256
    '0003' + // NIST P-256
    '0010' + // kdf NULL
    '0020' + '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296' +
    '0020' + '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5';
  return new Uint8Array(Buffer.from(hex, 'hex'));
})();

describe.skipIf(!haveSwtpm())('prepareEnrollment with swtpm (skipped: swtpm/tpm2-tools not installed)', () => {
  let tpm: SwtpmHandle;
  let roots: EkRoots;
  let intermediates: Uint8Array[];
  const read = (f: string): Uint8Array => new Uint8Array(readFileSync(path.join(tpm.dir, f)));

  beforeAll(async () => {
    tpm = await startSwtpm({ createEkCerts: true });
    const [rootPem, issuerPem] = tpm.caCerts as [string, string];
    roots = loadEkRoots(rootPem);
    intermediates = [new Uint8Array(readFileSync(issuerPem))];
    await tpm.tpm2('tpm2_nvread', ['0x1c00002', '-o', 'ek-rsa-cert.der']);
    await tpm.tpm2('tpm2_nvread', ['0x1c00016', '-o', 'ek-p384-cert.der']);
    await tpm.tpm2('tpm2_createek', ['-c', 'ek-rsa.ctx', '-G', 'rsa', '-u', 'ek-rsa.pub']);
    await tpm.tpm2('tpm2_createek', ['-c', 'ek-ecc.ctx', '-G', 'ecc', '-u', 'ek-ecc.pub']);
    await tpm.tpm2('tpm2_createak', ['-C', 'ek-rsa.ctx', '-c', 'ak-rsa.ctx', '-u', 'ak-rsa.pub', '-n', 'ak-rsa.name', '-G', 'rsa']);
    await tpm.tpm2('tpm2_readpublic', ['-c', '0x81010016', '-o', 'ek-p384.pub']);
    await tpm.tpm2('tpm2_createak', ['-C', '0x81010016', '-c', 'ak-p384.ctx', '-u', 'ak-p384.pub', '-n', 'ak-p384.name', '-G', 'ecc']);
  });
  afterAll(async () => {
    await tpm?.stop();
  });

  async function activate(ekCtx: string, akCtx: string, credential: Uint8Array, out: string, highRange: boolean): Promise<Uint8Array> {
    writeFileSync(path.join(tpm.dir, `${out}.cred`), credential);
    if (highRange) {
      await tpm.tpm2('tpm2_activatecredential', ['-c', akCtx, '-C', ekCtx, '-i', `${out}.cred`, '-o', out]);
    } else {
      await tpm.tpm2('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx']);
      try {
        await tpm.tpm2('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e']);
        await tpm.tpm2('tpm2_activatecredential', ['-c', akCtx, '-C', ekCtx, '-i', `${out}.cred`, '-o', out, '-P', 'session:session.ctx']);
      } finally {
        await tpm.tpm2('tpm2_flushcontext', ['session.ctx']).catch(() => undefined);
      }
    }
    return read(out);
  }

  const input = (over: Partial<EnrollmentInput> = {}): EnrollmentInput => ({
    hostId: 'rack12-node07',
    ekCert: read('ek-rsa-cert.der'),
    ekPub: read('ek-rsa.pub'),
    akPub: read('ak-rsa.pub'),
    roots,
    intermediates,
    now: new Date(),
    ...over,
  });

  it('RSA EK with ekPub: the TPM activates the credential and returns our secret', async () => {
    const p = await prepareEnrollment(input());
    expect(p.secret).toHaveLength(32);
    expect(p.akNameHex).toBe(toHex(read('ak-rsa.name')));
    expect(toHex(p.akName)).toBe(p.akNameHex);
    const ekSpki = publicKeyFromTpmt(parsePublic(read('ek-rsa.pub'))).export({ type: 'spki', format: 'der' });
    expect(p.ekFingerprint).toBe(createHash('sha256').update(ekSpki).digest('hex'));
    expect(p.ekInfo).toMatchObject({ tpmManufacturer: 'id:00001014', tpmModel: 'swtpm', keyType: 'rsa', rsaBits: 2048, ekPublicSource: 'ekPub' });
    expect(parseCredentialFile(p.credentialFile).encryptedSecret).toHaveLength(2 + 256);
    expect(toHex(await activate('ek-rsa.ctx', 'ak-rsa.ctx', p.credentialFile, 'rsa-secret', false))).toBe(toHex(p.secret));
  });

  it('RSA EK from the certificate alone: the default L-1 template reproduces the TPM EK exactly (same Name) and activates', async () => {
    const p = await prepareEnrollment(input({ ekPub: undefined }));
    expect(p.ekInfo.ekPublicSource).toBe('default-template');
    expect(toHex(tpmObjectName(p.ekPublic))).toBe(toHex(tpmObjectName(parsePublic(read('ek-rsa.pub')))));
    expect(toHex(await activate('ek-rsa.ctx', 'ak-rsa.ctx', p.credentialFile, 'rsa-template-secret', false))).toBe(toHex(p.secret));
  });

  it('ECC P-384 EK (high range, SHA-384/AES-256) from the certificate alone: H-4 template matches 0x81010016 and activates', async () => {
    const p = await prepareEnrollment(input({ ekCert: read('ek-p384-cert.der'), ekPub: undefined, akPub: read('ak-p384.pub') }));
    expect(p.ekInfo).toMatchObject({ keyType: 'ecc', curve: 'P-384' });
    expect(toHex(tpmObjectName(p.ekPublic))).toBe(toHex(tpmObjectName(parsePublic(read('ek-p384.pub')))));
    expect(toHex(await activate('0x81010016', 'ak-p384.ctx', p.credentialFile, 'p384-secret', true))).toBe(toHex(p.secret));
    // With ekPub too.
    const q = await prepareEnrollment(input({ ekCert: read('ek-p384-cert.der'), ekPub: read('ek-p384.pub'), akPub: read('ak-p384.pub') }));
    expect(toHex(await activate('0x81010016', 'ak-p384.ctx', q.credentialFile, 'p384-secret-2', true))).toBe(toHex(q.secret));
  });

  it('ECC P-256 EK from a certificate alone (vendor-style cert for the TPM key): the L-2 template matches and activates', async () => {
    // swtpm 0.7 certifies only its P-384 ECC EK, so certify the P-256 EK's key with a test CA.
    const vendor = await makeCa('P-256 EK Vendor Root');
    const spki = publicKeyFromTpmt(parsePublic(read('ek-ecc.pub'))).export({ type: 'spki', format: 'der' });
    const ekKey = await webcrypto.subtle.importKey('spki', spki, { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    const ekCert = await makeEkCert(vendor, { publicKey: ekKey });
    await tpm.tpm2('tpm2_createak', ['-C', 'ek-ecc.ctx', '-c', 'ak-ecc.ctx', '-u', 'ak-ecc.pub', '-n', 'ak-ecc.name', '-G', 'ecc']);
    const p = await prepareEnrollment(input({ ekCert, ekPub: undefined, akPub: read('ak-ecc.pub'), roots: ekRootsFromDer([vendor.der]), intermediates: [] }));
    expect(p.ekInfo).toMatchObject({ keyType: 'ecc', curve: 'P-256', ekPublicSource: 'default-template' });
    expect(toHex(tpmObjectName(p.ekPublic))).toBe(toHex(tpmObjectName(parsePublic(read('ek-ecc.pub')))));
    expect(toHex(await activate('ek-ecc.ctx', 'ak-ecc.ctx', p.credentialFile, 'p256-secret', false))).toBe(toHex(p.secret));
  });

  it('every call wraps a fresh secret', async () => {
    const a = await prepareEnrollment(input());
    const b = await prepareEnrollment(input());
    expect(toHex(a.secret)).not.toBe(toHex(b.secret));
    expect(a.ekFingerprint).toBe(b.ekFingerprint);
  });

  it('maps each refusal to the contract status and a stable code', async () => {
    const cases: [string, Partial<EnrollmentInput>, number, string][] = [
      ['certificate under no shipped root', { roots: loadEkRoots() }, 403, 'ek_cert_untrusted'],
      ['certificate missing its intermediate', { intermediates: [] }, 403, 'ek_cert_untrusted'],
      ['certificate not yet valid', { now: new Date('2001-01-01T00:00:00Z') }, 403, 'ek_cert_not_yet_valid'],
      ['garbage certificate', { ekCert: Uint8Array.of(0x30, 0x01, 0x00) }, 400, 'malformed_ek_cert'],
      ['ekPub of another EK', { ekPub: read('ek-ecc.pub') }, 403, 'ek_pub_mismatch'],
      ['ekPub truncated', { ekPub: read('ek-rsa.pub').subarray(0, 40) }, 400, 'malformed_ek_pub'],
      ['ekPub that is an AK, not a storage key', { ekPub: read('ak-rsa.pub') }, 400, 'malformed_ek_pub'],
      ['EK used as AK', { akPub: read('ek-rsa.pub') }, 400, 'ak_not_restricted'],
      ['akPub with trailing bytes', { akPub: concatBytes(read('ak-rsa.pub'), Uint8Array.of(0)) }, 400, 'malformed_ak_pub'],
    ];
    for (const [what, over, status, code] of cases) {
      const e = await apiError(prepareEnrollment(input(over)));
      expect([e.status, e.code], what).toEqual([status, code]);
      expect(e.message.length, what).toBeGreaterThan(10);
    }
  });
});
