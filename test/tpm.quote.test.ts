import { describe, expect, it } from 'vitest';
import {
  type PcrBanks,
  TPM_ALG,
  TPM_ECC_CURVE,
  TPM_ST,
  computePcrDigest,
  encodeTpmtSignature,
  parsePublic,
  parseTpmtSignature,
  verifyQuote,
} from '../src/tpm/index.ts';
import { ParseError } from '../src/util/errors.ts';
import { fakePcrs, haveGce, loadGce, makeQuote, softEccAk, softRsaAk, softSign } from './helpers/tpm-fixtures.ts';

const codes = (r: { failures: { code: string }[] }): string[] => r.failures.map((f) => f.code).sort();
const NONCE = Uint8Array.from([0x90, 0x09]);

describe.skipIf(!haveGce)('real GCE vTPM quotes (fixture folder ../shared/fixtures/real-eventlogs absent?)', () => {
  const gce = haveGce ? loadGce() : undefined;
  const akPub = gce ? parsePublic(gce.akBytes) : undefined;

  it('all three quotes (sha1, sha256, sha384 banks) verify with nonce 0x9009 and the summary PCR values', () => {
    expect(gce?.quotes.length).toBe(3);
    for (const q of gce?.quotes ?? []) {
      const r = verifyQuote({ akPub: akPub!, quote: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrValues: q.pcrs });
      expect(r.failures, q.prefix).toEqual([]);
      expect(r.ok).toBe(true);
      // pcrDigest is computed with the signature's hash (sha256), whatever the bank.
      expect(r.signatureHash).toBe('sha256');
      expect(r.pcrSelection).toEqual([{ hash: q.bank, pcrs: [...Array(24).keys()], sizeofSelect: 3 }]);
      expect(r.clockInfo.resetCount).toBe(10);
      expect(r.firmwareVersion).toBe(0x2016051100162800n);
    }
  });

  it('any other nonce fails with nonce_mismatch only', () => {
    const q = gce!.quotes[1]!;
    for (const nonce of [Uint8Array.from([0x90, 0x08]), Uint8Array.from([0x90]), new Uint8Array(), Uint8Array.from([0x90, 0x09, 0x00])]) {
      const r = verifyQuote({ akPub: akPub!, quote: q.attest, signature: q.signature, expectedExtraData: nonce, pcrValues: q.pcrs });
      expect(codes(r)).toEqual(['nonce_mismatch']);
      expect(r.ok).toBe(false);
    }
  });

  it('a flipped bit anywhere in the attest data fails the signature', () => {
    const q = gce!.quotes[1]!;
    // Flip bits in the clock, the firmware version and the pcrDigest (bytes that keep the structure well formed).
    for (const at of [0x30, 0x3f, 0x45, q.attest.length - 1]) {
      const bad = q.attest.slice();
      bad[at]! ^= 0x01;
      const r = verifyQuote({ akPub: akPub!, quote: bad, signature: q.signature, expectedExtraData: NONCE });
      expect(codes(r)).toContain('quote_signature_invalid');
    }
  });

  it('a flipped bit in the signature fails the signature', () => {
    const q = gce!.quotes[0]!;
    const bad = q.signature.slice();
    bad[100]! ^= 0x80;
    expect(codes(verifyQuote({ akPub: akPub!, quote: q.attest, signature: bad, expectedExtraData: NONCE }))).toEqual(['quote_signature_invalid']);
  });

  it('another AK (same template, fresh key) does not verify the quote', () => {
    const other = softRsaAk(TPM_ALG.RSASSA, 'sha256');
    const q = gce!.quotes[2]!;
    expect(codes(verifyQuote({ akPub: other.pub, quote: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrValues: q.pcrs }))).toEqual([
      'quote_signature_invalid',
    ]);
  });

  it('a wrong PCR value fails with pcr_digest_mismatch; a missing one with pcr_value_missing', () => {
    const q = gce!.quotes[1]!;
    const wrong: PcrBanks = { sha256: new Map(q.pcrs.sha256) };
    const v = wrong.sha256!.get(7)!.slice();
    v[0]! ^= 1;
    wrong.sha256!.set(7, v);
    const r = verifyQuote({ akPub: akPub!, quote: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrValues: wrong });
    expect(codes(r)).toEqual(['pcr_digest_mismatch']);
    const missing: PcrBanks = { sha256: new Map(q.pcrs.sha256) };
    missing.sha256!.delete(23);
    const m = verifyQuote({ akPub: akPub!, quote: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrValues: missing });
    expect(m.failures).toEqual([expect.objectContaining({ code: 'pcr_value_missing', pcr: 23, bank: 'sha256' })]);
    // PCR values for the wrong bank do not help.
    expect(codes(verifyQuote({ akPub: akPub!, quote: q.attest, signature: q.signature, pcrValues: gce!.quotes[0]!.pcrs }))).toEqual(['pcr_value_missing']);
  });

  it('an RSAPSS signature is refused for this RSASSA-fixed AK', () => {
    const q = gce!.quotes[1]!;
    const sig = parseTpmtSignature(q.signature);
    if (sig.sigAlg === 'ecdsa') throw new Error('unexpected');
    const pss = encodeTpmtSignature({ ...sig, sigAlg: 'rsapss' });
    expect(codes(verifyQuote({ akPub: akPub!, quote: q.attest, signature: pss, expectedExtraData: NONCE }))).toEqual(['quote_signature_scheme_invalid']);
    const sha1 = encodeTpmtSignature({ ...sig, hash: 'sha1' });
    expect(codes(verifyQuote({ akPub: akPub!, quote: q.attest, signature: sha1, expectedExtraData: NONCE }))).toEqual(['quote_signature_scheme_invalid']);
  });
});

describe('software-signed quotes: every scheme, hash and failure code', () => {
  const selection = [
    { hash: 'sha1' as const, pcrs: [0, 1], sizeofSelect: 3 },
    { hash: 'sha256' as const, pcrs: [0, 1, 7], sizeofSelect: 3 },
  ];
  const pcrs = fakePcrs({ sha1: [0, 1], sha256: [0, 1, 7] });
  const nonce = new Uint8Array(32).fill(0xa5);

  const rsaNull = softRsaAk(TPM_ALG.NULL);
  const rsaPss = softRsaAk(TPM_ALG.RSAPSS, 'sha256');
  const cases: [string, ReturnType<typeof softRsaAk>, 'rsassa' | 'rsapss' | 'ecdsa', 'sha1' | 'sha256' | 'sha384' | 'sha512', number?][] = [
    ['RSASSA-sha1 (NULL-scheme AK)', rsaNull, 'rsassa', 'sha1'],
    ['RSASSA-sha512 (NULL-scheme AK)', rsaNull, 'rsassa', 'sha512'],
    ['RSAPSS-sha256, salt = digest length', rsaPss, 'rsapss', 'sha256'],
    ['RSAPSS-sha256, maximum salt (older TPMs)', rsaPss, 'rsapss', 'sha256', 2048 / 8 - 32 - 2],
    ['RSAPSS-sha384 (NULL-scheme AK)', rsaNull, 'rsapss', 'sha384'],
    ['ECDSA-sha256 on P-256', softEccAk(TPM_ECC_CURVE.NIST_P256), 'ecdsa', 'sha256'],
    ['ECDSA-sha384 on P-384 (NULL scheme)', softEccAk(TPM_ECC_CURVE.NIST_P384, TPM_ALG.NULL), 'ecdsa', 'sha384'],
    ['ECDSA-sha512 on P-521', softEccAk(TPM_ECC_CURVE.NIST_P521, TPM_ALG.ECDSA, 'sha512'), 'ecdsa', 'sha512'],
  ];
  it.each(cases)('%s verifies, and fails when tampered', (_n, ak, sigAlg, hash, salt) => {
    const { bytes } = makeQuote({ extraData: nonce, selection, pcrs, hash });
    const sig = softSign(ak, sigAlg, hash, bytes, salt);
    const ok = verifyQuote({ akPub: ak.pub, quote: bytes, signature: sig, expectedExtraData: nonce, pcrValues: pcrs });
    expect(ok.failures).toEqual([]);
    expect(ok.signatureHash).toBe(hash);
    const bad = bytes.slice();
    bad[bad.length - 1]! ^= 1;
    expect(codes(verifyQuote({ akPub: ak.pub, quote: bad, signature: sig, expectedExtraData: nonce }))).toEqual(['quote_signature_invalid']);
  });

  it('ECDSA r/s shorter than the curve size (leading zeros dropped) still verify; wider ones fail', () => {
    const ak = softEccAk(TPM_ECC_CURVE.NIST_P256);
    const { bytes } = makeQuote({ extraData: nonce, selection, pcrs, hash: 'sha256' });
    let tried = 0;
    // About 1 in 256 signatures has an r with a leading zero byte; 4000 tries miss with probability ~1e-7.
    for (let i = 0; i < 4000 && tried < 1; i++) {
      const sig = parseTpmtSignature(softSign(ak, 'ecdsa', 'sha256', bytes));
      if (sig.sigAlg !== 'ecdsa' || sig.r[0] !== 0) continue;
      tried++;
      const short = encodeTpmtSignature({ ...sig, r: sig.r.subarray(1) });
      expect(verifyQuote({ akPub: ak.pub, quote: bytes, signature: short }).ok).toBe(true);
    }
    expect(tried).toBe(1);
    const sig = parseTpmtSignature(softSign(ak, 'ecdsa', 'sha256', bytes));
    if (sig.sigAlg !== 'ecdsa') throw new Error('unexpected');
    const padded = encodeTpmtSignature({ ...sig, r: Uint8Array.from([0, 0, ...sig.r]) });
    expect(verifyQuote({ akPub: ak.pub, quote: bytes, signature: padded }).ok).toBe(true);
    const wide = encodeTpmtSignature({ ...sig, r: Uint8Array.from([1, ...sig.r]) });
    expect(codes(verifyQuote({ akPub: ak.pub, quote: bytes, signature: wide }))).toEqual(['quote_signature_invalid']);
  });

  it('the AK scheme restricts the signature: fixed RSASSA refuses RSAPSS, ECC refuses RSA, fixed hash refuses others', () => {
    const { bytes } = makeQuote({ extraData: nonce, selection, pcrs, hash: 'sha256' });
    const rsassaAk = softRsaAk(TPM_ALG.RSASSA, 'sha256');
    expect(codes(verifyQuote({ akPub: rsassaAk.pub, quote: bytes, signature: softSign(rsassaAk, 'rsapss', 'sha256', bytes) }))).toEqual([
      'quote_signature_scheme_invalid',
    ]);
    expect(codes(verifyQuote({ akPub: rsassaAk.pub, quote: bytes, signature: softSign(rsassaAk, 'rsassa', 'sha384', bytes) }))).toEqual([
      'quote_signature_scheme_invalid',
    ]);
    const ecc = softEccAk();
    expect(codes(verifyQuote({ akPub: ecc.pub, quote: bytes, signature: softSign(rsassaAk, 'rsassa', 'sha256', bytes) }))).toEqual([
      'quote_signature_scheme_invalid',
    ]);
    expect(codes(verifyQuote({ akPub: rsassaAk.pub, quote: bytes, signature: softSign(ecc, 'ecdsa', 'sha256', bytes) }))).toEqual([
      'quote_signature_scheme_invalid',
    ]);
  });

  it('reports wrong magic and non-quote types even under a valid signature', () => {
    const ak = softRsaAk();
    const magic = makeQuote({ extraData: nonce, selection, pcrs, hash: 'sha256', magic: 0xff544348 });
    const r = verifyQuote({ akPub: ak.pub, quote: magic.bytes, signature: softSign(ak, 'rsassa', 'sha256', magic.bytes), expectedExtraData: nonce });
    expect(codes(r)).toEqual(['quote_magic_invalid']);
    expect(r.failures[0]?.actual).toBe('0xff544348');
    // A TPM2_Certify attestation signed by the AK must not pass as a quote.
    const certify = Uint8Array.from([
      ...magic.bytes.subarray(0, 4).fill(0).map((_, i) => [0xff, 0x54, 0x43, 0x47][i]!),
      0x80, 0x17,
      ...magic.bytes.subarray(6, 6 + 2 + 34 + 2 + 32 + 17 + 8),
      0x00, 0x02, 0xaa, 0xbb, 0x00, 0x00,
    ]);
    const c = verifyQuote({ akPub: ak.pub, quote: certify, signature: softSign(ak, 'rsassa', 'sha256', certify), expectedExtraData: nonce, pcrValues: pcrs });
    expect(codes(c)).toEqual(['quote_type_invalid']);
    expect(c.attest.type).toBe(TPM_ST.ATTEST_CERTIFY);
    expect(c.pcrSelection).toEqual([]);
  });

  it('the pcrDigest uses the signature hash, not the bank hash', () => {
    const ak = softRsaAk(TPM_ALG.NULL);
    const { bytes } = makeQuote({ extraData: nonce, selection, pcrs, hash: 'sha384' });
    const r = verifyQuote({ akPub: ak.pub, quote: bytes, signature: softSign(ak, 'rsassa', 'sha384', bytes), pcrValues: pcrs });
    expect(r.ok).toBe(true);
    expect(computePcrDigest(selection, pcrs, 'sha384').length).toBe(48);
    // Signed with sha256 over a quote whose digest was made with sha384: the digest cannot match.
    const r2 = verifyQuote({ akPub: ak.pub, quote: bytes, signature: softSign(ak, 'rsassa', 'sha256', bytes), pcrValues: pcrs });
    expect(codes(r2)).toEqual(['pcr_digest_mismatch']);
  });

  it('several failures are all reported; malformed input throws ParseError instead', () => {
    const ak = softRsaAk();
    const other = softRsaAk();
    const { bytes } = makeQuote({ extraData: nonce, selection, pcrs, hash: 'sha256', magic: 0 });
    const r = verifyQuote({ akPub: ak.pub, quote: bytes, signature: softSign(other, 'rsassa', 'sha256', bytes), expectedExtraData: new Uint8Array(), pcrValues: fakePcrs({ sha1: [0, 1], sha256: [0, 1, 7] }, 1) });
    expect(codes(r)).toEqual(['nonce_mismatch', 'pcr_digest_mismatch', 'quote_magic_invalid', 'quote_signature_invalid']);
    expect(() => verifyQuote({ akPub: ak.pub, quote: bytes.subarray(0, 50), signature: softSign(ak, 'rsassa', 'sha256', bytes) })).toThrow(ParseError);
    expect(() => verifyQuote({ akPub: ak.pub, quote: bytes, signature: new Uint8Array([0, 0x10]) })).toThrow(ParseError);
    const shortPcr: PcrBanks = { sha1: new Map([[0, new Uint8Array(20)], [1, new Uint8Array(19)]]), sha256: pcrs.sha256 };
    expect(() => verifyQuote({ akPub: ak.pub, quote: bytes, signature: softSign(ak, 'rsassa', 'sha256', bytes), pcrValues: shortPcr })).toThrow(ParseError);
  });
});
