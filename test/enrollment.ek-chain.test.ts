/**
 * EK certificate chain validation and the EK roots store.
 *
 * Synthetic vendor PKIs (root -> intermediate -> EK, built with @peculiar/x509) cover every
 * failure code; swtpm's own EK certificates, read from TPM NV, prove that a real TCG-profile EK
 * certificate validates against its CA and is refused by the shipped manufacturer roots.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EK_CERT_QUIRKS } from '../src/enrollment/ek-cert-quirks.ts';
import { type EkCertValidation, validateEkCertificate } from '../src/enrollment/ek-chain.ts';
import { DEFAULT_EK_ROOTS_DIR, EkRootsError, ekRootsFromDer, loadEkRoots } from '../src/enrollment/ek-roots.ts';
import { parsePublic, publicKeyFromTpmt } from '../src/tpm/index.ts';
import { concatBytes } from '../src/util/encoding.ts';
import { type TestCa, makeCa, makeEkCert, toPem } from './helpers/enrollment-certs.ts';
import { type SwtpmHandle, haveSwtpm, startSwtpm } from './helpers/swtpm.ts';

const DAY = 86_400_000;
const now = new Date();
const CODES = new Set(['ek_cert_malformed', 'ek_cert_untrusted', 'ek_cert_expired', 'ek_cert_not_yet_valid', 'ek_cert_not_ek']);

function failure(r: EkCertValidation): { code: string; message: string } {
  if (r.ok) throw new Error(`expected a failure, got ok with chain ${r.chain.join(' <- ')}`);
  return r;
}

describe('validateEkCertificate with a synthetic vendor PKI', () => {
  let root: TestCa;
  let inter: TestCa;
  let ek: Uint8Array;
  let roots: ReturnType<typeof ekRootsFromDer>;

  beforeAll(async () => {
    root = await makeCa('Test TPM Root CA');
    inter = await makeCa('Test TPM EK Intermediate CA', { issuer: root });
    ek = await makeEkCert(inter);
    roots = ekRootsFromDer([root.der]);
  });

  it('accepts root -> intermediate -> EK when the intermediate is supplied, and reports the chain and key', async () => {
    const r = await validateEkCertificate({ ekCert: ek, roots, intermediates: [inter.der], now });
    if (!r.ok) throw new Error(r.message);
    expect(r.chain).toEqual(['', 'CN=Test TPM EK Intermediate CA, O=Test TPM Vendor', 'CN=Test TPM Root CA, O=Test TPM Vendor']);
    expect(r.keyType).toBe('ecc');
    expect(r.curve).toBe('P-256');
    expect(r.ekFingerprint).toBe(createHash('sha256').update(r.spki).digest('hex'));
  });

  it('accepts the intermediate from PEM input, from a PEM bundle after the EK, and from the roots set', async () => {
    expect((await validateEkCertificate({ ekCert: toPem(ek), roots, intermediates: [toPem(inter.der)], now })).ok).toBe(true);
    expect((await validateEkCertificate({ ekCert: concatBytes(toPem(ek), toPem(inter.der)), roots, now })).ok).toBe(true);
    expect((await validateEkCertificate({ ekCert: ek, roots: ekRootsFromDer([root.der, inter.der]), now })).ok).toBe(true);
  });

  it('refuses a chain with the intermediate missing, or under an unknown root: ek_cert_untrusted, naming the missing issuer', async () => {
    const missing = failure(await validateEkCertificate({ ekCert: ek, roots, now }));
    expect(missing.code).toBe('ek_cert_untrusted');
    expect(missing.message).toContain('no certificate of "CN=Test TPM EK Intermediate CA, O=Test TPM Vendor", the issuer of the EK certificate');
    expect(missing.message).toContain('BOOTGATE_EK_ROOTS');
    expect(missing.message).toContain('intermediate CAs are allowed there');
    const other = await makeCa('Other Root');
    const unknownRoot = failure(await validateEkCertificate({ ekCert: ek, roots: ekRootsFromDer([other.der]), intermediates: [inter.der], now }));
    expect(unknownRoot.code).toBe('ek_cert_untrusted');
    expect(unknownRoot.message).toContain('no certificate of "CN=Test TPM Root CA, O=Test TPM Vendor", the issuer of intermediate CA "CN=Test TPM EK Intermediate CA, O=Test TPM Vendor"');
    const selfSigned = failure(await validateEkCertificate({ ekCert: ek, roots: ekRootsFromDer([other.der]), intermediates: [inter.der, root.der], now }));
    expect(selfSigned.message).toContain('the chain ends at the self-signed CA "CN=Test TPM Root CA, O=Test TPM Vendor", which is not a configured EK root');
    // Where the EK certificate publishes its issuer (Authority Information Access), the message says so.
    const withAia = await makeEkCert(inter, { caIssuers: 'http://pki.example.invalid/ek-intermediate.crt' });
    const aia = failure(await validateEkCertificate({ ekCert: withAia, roots, now }));
    expect(aia.message).toContain('(the certificate names it at http://pki.example.invalid/ek-intermediate.crt)');
  });

  it('refuses an EK certificate forged with the right issuer name but another key', async () => {
    const impostor = await makeCa('Test TPM EK Intermediate CA', { issuer: await makeCa('Test TPM Root CA') });
    const forged = await makeEkCert(impostor);
    const r = failure(await validateEkCertificate({ ekCert: forged, roots, intermediates: [inter.der], now }));
    expect(r.code).toBe('ek_cert_untrusted');
  });

  it('refuses an EK certificate whose signed bytes were altered', async () => {
    // Certificate SEQ, TBS SEQ (4-byte headers), version [0] (5 bytes), then the serial INTEGER.
    const tampered = ek.slice();
    expect(tampered[13]).toBe(0x02);
    const lastSerialByte = 14 + (tampered[14] ?? 0);
    tampered[lastSerialByte] = (tampered[lastSerialByte] ?? 0) ^ 0x01;
    const r = failure(await validateEkCertificate({ ekCert: tampered, roots, intermediates: [inter.der], now }));
    expect(r.code).toBe('ek_cert_untrusted');
  });

  it('reports an expired or not-yet-valid EK certificate', async () => {
    const expired = await makeEkCert(inter, { notBefore: new Date(now.getTime() - 20 * DAY), notAfter: new Date(now.getTime() - DAY) });
    const e = failure(await validateEkCertificate({ ekCert: expired, roots, intermediates: [inter.der], now }));
    expect(e.code).toBe('ek_cert_expired');
    expect(e.message).toMatch(/EK certificate .* expired at/);
    const future = await makeEkCert(inter, { notBefore: new Date(now.getTime() + DAY) });
    expect(failure(await validateEkCertificate({ ekCert: future, roots, intermediates: [inter.der], now })).code).toBe('ek_cert_not_yet_valid');
  });

  it('reports an expired intermediate as ek_cert_expired, naming it', async () => {
    const oldInter = await makeCa('Old EK Intermediate', { issuer: root, notBefore: new Date(now.getTime() - 400 * DAY), notAfter: new Date(now.getTime() - DAY) });
    const leaf = await makeEkCert(oldInter, { notBefore: new Date(now.getTime() - 30 * DAY) });
    const r = failure(await validateEkCertificate({ ekCert: leaf, roots, intermediates: [oldInter.der], now }));
    expect(r.code).toBe('ek_cert_expired');
    expect(r.message).toContain('Old EK Intermediate');
  });

  it('validates at the given `now`, not the wall clock', async () => {
    const later = new Date(now.getTime() + 11 * 365 * DAY);
    expect(failure(await validateEkCertificate({ ekCert: ek, roots, intermediates: [inter.der], now: later })).code).toBe('ek_cert_expired');
  });

  it('refuses certificates that are not EK certificates: wrong EKU, signing-only key usage, CA, unknown critical extension', async () => {
    const cases = {
      wrongEku: await makeEkCert(inter, { eku: ['1.3.6.1.5.5.7.3.1'] }),
      signingOnly: await makeEkCert(inter, { keyUsage: 1 /* digitalSignature */ }),
      ca: await makeEkCert(inter, { ca: true }),
      unknownCritical: await makeEkCert(inter, { unknownCritical: true }),
    };
    for (const [name, der] of Object.entries(cases)) {
      const r = failure(await validateEkCertificate({ ekCert: der, roots, intermediates: [inter.der], now }));
      expect(r.code, name).toBe('ek_cert_not_ek');
    }
    expect(failure(await validateEkCertificate({ ekCert: cases.wrongEku, roots, intermediates: [inter.der], now })).message).toMatch(/2\.23\.133\.8\.1/);
  });

  it('accepts an EK certificate without EKU or key usage (vendor certificates that omit them), recording the quirk', async () => {
    const bare = await makeEkCert(inter, { eku: null, keyUsage: null });
    const r = await validateEkCertificate({ ekCert: bare, roots, intermediates: [inter.der], now });
    if (!r.ok) throw new Error(r.message);
    expect(r.quirks).toContain(EK_CERT_QUIRKS.missingEku.id);
  });

  it('verifies vendor CAs that sign with RSA PKCS#1 v1.5 SHA-1 or RSA-PSS, and still refuses forgeries under them', async () => {
    for (const alg of ['rsa-sha1', 'rsa-pss-sha256'] as const) {
      const rsaRoot = await makeCa(`RSA ${alg} Root`, { alg });
      const leaf = await makeEkCert(rsaRoot);
      const r = await validateEkCertificate({ ekCert: leaf, roots: ekRootsFromDer([rsaRoot.der]), now });
      if (!r.ok) throw new Error(`${alg}: ${r.message}`);
      const forged = leaf.slice();
      forged[forged.length - 5] = (forged[forged.length - 5] ?? 0) ^ 0xff; // inside the signature value
      expect(failure(await validateEkCertificate({ ekCert: forged, roots: ekRootsFromDer([rsaRoot.der]), now })).code).toBe('ek_cert_untrusted');
    }
  }, 60_000);

  it('tolerates NV padding (0xFF or 0x00 fill) and the TCG stored-certificate header, but not other trailing bytes', async () => {
    const padded = concatBytes(ek, new Uint8Array(1600 - ek.length).fill(0xff));
    const p = await validateEkCertificate({ ekCert: padded, roots, intermediates: [inter.der], now });
    if (!p.ok) throw new Error(p.message);
    expect(p.quirks).toContain('nv-padding');
    expect((await validateEkCertificate({ ekCert: concatBytes(ek, new Uint8Array(40)), roots, intermediates: [inter.der], now })).ok).toBe(true);
    const header = Uint8Array.of(0x10, 0x01, 0x00, ek.length >> 8, ek.length & 0xff);
    const h = await validateEkCertificate({ ekCert: concatBytes(header, ek), roots, intermediates: [inter.der], now });
    if (!h.ok) throw new Error(h.message);
    expect(h.quirks).toContain('nv-stored-header');
    const junk = concatBytes(ek, Uint8Array.of(0xff, 0x00, 0x12));
    expect(failure(await validateEkCertificate({ ekCert: junk, roots, intermediates: [inter.der], now })).code).toBe('ek_cert_malformed');
  });

  it('answers ek_cert_malformed for empty, garbage, truncated and non-certificate PEM input', async () => {
    const inputs = [
      new Uint8Array(0),
      Uint8Array.of(0x30),
      Uint8Array.of(0x30, 0x82, 0xff, 0xff),
      ek.subarray(0, ek.length - 10),
      new Uint8Array(Buffer.from('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n')),
      new Uint8Array(Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')),
      Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00),
    ];
    for (const ekCert of inputs) expect(failure(await validateEkCertificate({ ekCert, roots, now })).code).toBe('ek_cert_malformed');
    // Oversized and pathological PEM input is refused up front (no quadratic scanning).
    const manyBegins = new Uint8Array(Buffer.from('-----BEGIN CERTIFICATE-----\n'.repeat(40_000)));
    expect(failure(await validateEkCertificate({ ekCert: manyBegins, roots, now })).message).toMatch(/larger than any EK certificate/);
    expect(failure(await validateEkCertificate({ ekCert: ek, roots, intermediates: [Uint8Array.of(1, 2, 3)], now })).code).toBe('ek_cert_malformed');
  });

  it('never throws on random or mutated certificates; every failure carries a known code (fast-check, 11,700 cases)', async () => {
    // pkijs spends a few milliseconds decoding each certificate, so mutants are fewer than random
    // inputs: 1,500 without the intermediate (path building stops before signature checks) and
    // 200 through full path validation.
    const check = (intermediates: Uint8Array[]) => async (ekCert: Uint8Array): Promise<boolean> => {
      const r = await validateEkCertificate({ ekCert, roots, intermediates, now });
      return r.ok || CODES.has(r.code);
    };
    const mutant = fc
      .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat({ max: 40 }))
      .map(([edits, cut]) => {
        const b = ek.slice(0, ek.length - (cut > 30 ? cut - 30 : 0));
        for (const [at, v] of edits) b[at % b.length] = v;
        return b;
      });
    const randomDer = fc.uint8Array({ minLength: 1, maxLength: 600 }).map((body) => concatBytes(Uint8Array.of(0x30, 0x82, body.length >> 8, body.length & 0xff), body));
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }), randomDer), check([])), { numRuns: 10_000 });
    await fc.assert(fc.asyncProperty(mutant, check([])), { numRuns: 1_500 });
    await fc.assert(fc.asyncProperty(mutant, check([inter.der])), { numRuns: 200 });
  }, 60_000);
});

describe('loadEkRoots', () => {
  it('loads the shipped manufacturer roots, each listed in the folder README', () => {
    const roots = loadEkRoots();
    expect(roots.entries.length).toBeGreaterThanOrEqual(13);
    const subjects = roots.entries.map((e) => e.subject).join('\n');
    // The tpm-sim dev root's key is public; it must never be trusted without being named.
    expect(subjects).not.toContain('DEV-ONLY');
    for (const vendor of ['Infineon OPTIGA(TM) RSA Root CA', 'Infineon OPTIGA(TM) ECC Root CA', 'STM TPM EK Root CA', 'Nuvoton TPM Root CA 2111', 'GlobalSign Trusted Platform Module Root CA', 'Intel Corporation']) {
      expect(subjects).toContain(vendor);
    }
    const readme = readFileSync(path.join(DEFAULT_EK_ROOTS_DIR, 'README.md'), 'utf8');
    for (const f of readdirSync(DEFAULT_EK_ROOTS_DIR).filter((n) => /\.(pem|crt|cer|der)$/i.test(n))) expect(readme, f).toContain(f);
  });

  it('loads a PEM bundle file and a directory of DER and PEM files; refuses missing, empty or undecodable sources naming the file', async () => {
    const root = await makeCa('Bundle Root');
    const inter = await makeCa('Bundle Intermediate', { issuer: root });
    const dir = mkdtempSync(path.join(tmpdir(), 'bootgate-ekroots-'));
    try {
      writeFileSync(path.join(dir, 'bundle.pem'), concatBytes(toPem(root.der), toPem(inter.der)));
      expect(loadEkRoots(path.join(dir, 'bundle.pem')).entries.map((e) => e.subject)).toEqual([
        'CN=Bundle Root, O=Test TPM Vendor',
        'CN=Bundle Intermediate, O=Test TPM Vendor',
      ]);
      const sub = path.join(dir, 'certs');
      mkdirSync(sub);
      writeFileSync(path.join(sub, 'root.der'), root.der);
      writeFileSync(path.join(sub, 'inter.crt'), toPem(inter.der));
      writeFileSync(path.join(sub, 'notes.txt'), 'ignored');
      expect(loadEkRoots(sub).entries).toHaveLength(2);
      writeFileSync(path.join(sub, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      expect(() => loadEkRoots(sub)).toThrow(/broken\.pem/);
      expect(() => loadEkRoots(path.join(dir, 'nope'))).toThrow(EkRootsError);
      const empty = path.join(dir, 'empty');
      mkdirSync(empty);
      expect(() => loadEkRoots(empty)).toThrow(/no certificates/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveSwtpm())('swtpm EK certificates read from NV (skipped: swtpm/tpm2-tools not installed)', () => {
  let tpm: SwtpmHandle;
  beforeAll(async () => {
    tpm = await startSwtpm({ createEkCerts: true });
    await tpm.tpm2('tpm2_nvread', ['0x1c00002', '-o', 'ek-rsa-cert.der']);
    await tpm.tpm2('tpm2_nvread', ['0x1c00016', '-o', 'ek-p384-cert.der']);
  });
  afterAll(async () => {
    await tpm?.stop();
  });
  const read = (f: string): Uint8Array => new Uint8Array(readFileSync(path.join(tpm.dir, f)));

  it('validates the RSA and P-384 EK certificates against the swtpm local CA (root + intermediate)', async () => {
    const [rootPem, issuerPem] = tpm.caCerts as [string, string];
    const roots = loadEkRoots(rootPem);
    for (const [file, keyType] of [['ek-rsa-cert.der', 'rsa'], ['ek-p384-cert.der', 'ecc']] as const) {
      const r = await validateEkCertificate({ ekCert: read(file), roots, intermediates: [new Uint8Array(readFileSync(issuerPem))], now: new Date() });
      if (!r.ok) throw new Error(r.message);
      expect(r.keyType).toBe(keyType);
      expect(r.chain).toHaveLength(3);
      expect(r.tpm).toEqual({ manufacturer: 'id:00001014', model: 'swtpm', version: 'id:20191023' });
      expect(r.quirks).toContain('critical-san-empty-subject');
    }
  });

  it('refuses them against the shipped manufacturer roots only: ek_cert_untrusted', async () => {
    const r = await validateEkCertificate({ ekCert: read('ek-rsa-cert.der'), roots: loadEkRoots(), intermediates: [new Uint8Array(readFileSync(tpm.caCerts[1]!))], now: new Date() });
    expect(failure(r).code).toBe('ek_cert_untrusted');
  });

  it('certifies the key tpm2_createek derives (cert SPKI == EK public from the TPM)', async () => {
    await tpm.tpm2('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
    const [rootPem, issuerPem] = tpm.caCerts as [string, string];
    const r = await validateEkCertificate({ ekCert: read('ek-rsa-cert.der'), roots: loadEkRoots(rootPem), intermediates: [new Uint8Array(readFileSync(issuerPem))], now: new Date() });
    if (!r.ok) throw new Error(r.message);
    const fromTpm = publicKeyFromTpmt(parsePublic(read('ek.pub'))).export({ type: 'spki', format: 'der' });
    expect(Buffer.from(r.spki).equals(fromTpm)).toBe(true);
  });
});

