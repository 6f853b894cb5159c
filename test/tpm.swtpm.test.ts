/** End to end against a software TPM: real tpm2-tools output verified by the library. */
import { constants, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PcrBanks,
  TPMA_OBJECT,
  hasAttributes,
  parsePcrFile,
  parsePcrSerialized,
  parsePublic,
  parseTpmsAttest,
  parseTpmtSignature,
  pcrBanksToJson,
  publicKeyFromTpmt,
  tpmObjectName,
  verifyQuote,
} from '../src/tpm/index.ts';
import { fromHex } from '../src/util/encoding.ts';
import { type SwtpmHandle, haveSwtpm, startSwtpm } from './helpers/swtpm.ts';
import { type SwtpmQuote, produceSwtpmQuotes } from './helpers/tpm-fixtures.ts';

const read = (f: string): Uint8Array => new Uint8Array(readFileSync(f));
const codes = (r: { failures: { code: string }[] }): string[] => r.failures.map((f) => f.code).sort();

describe.skipIf(!haveSwtpm())('swtpm + tpm2-tools quotes (swtpm/swtpm_setup/tpm2-tools not installed)', () => {
  let tpm: SwtpmHandle;
  let quotes: SwtpmQuote[] = [];
  let pcrRead: PcrBanks = {};

  beforeAll(async () => {
    tpm = await startSwtpm();
    quotes = await produceSwtpmQuotes(tpm);
    const { stdout } = await tpm.tpm2('tpm2_pcrread', ['sha1:0,1,2,3+sha256:0,1,2,3']);
    // tpm2_pcrread's text output: "  sha1:" bank lines then "    0 : 0xHEX".
    let bank: 'sha1' | 'sha256' | undefined;
    for (const line of stdout.split('\n')) {
      const b = /^\s*(sha1|sha256):\s*$/.exec(line);
      if (b) bank = b[1] as 'sha1' | 'sha256';
      const v = /^\s*(\d+)\s*:\s*0x([0-9A-Fa-f]+)/.exec(line);
      if (v && bank) (pcrRead[bank] ??= new Map()).set(Number(v[1]), fromHex(v[2]!)!);
    }
  }, 120_000);
  afterAll(async () => {
    await tpm?.stop();
  });

  it('produced six quotes over three AK kinds and non-zero PCRs', () => {
    expect(quotes.map((q) => q.name)).toEqual(['q0-rsassa', 'q1-rsassa', 'q2-rsapss', 'q3-rsapss', 'q4-ecdsa', 'q5-ecdsa']);
    expect(pcrRead.sha256?.get(3)?.some((b) => b !== 0)).toBe(true);
    expect(pcrRead.sha1?.get(0)?.some((b) => b !== 0)).toBe(true);
  });

  it('parses tpm2_createak output (TPM2B_PUBLIC) as restricted signing keys whose Name matches tpm2 -n', () => {
    for (const kind of ['rsassa', 'rsapss', 'ecdsa']) {
      const ak = parsePublic(read(`${tpm.dir}/ak-${kind}.pub`));
      expect(ak.type).toBe(kind === 'ecdsa' ? 'ecc' : 'rsa');
      expect(
        hasAttributes(ak.objectAttributes, TPMA_OBJECT.restricted | TPMA_OBJECT.sign | TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin),
      ).toBe(true);
      expect(Buffer.from(tpmObjectName(ak)).toString('hex')).toBe(Buffer.from(read(`${tpm.dir}/ak-${kind}.name`)).toString('hex'));
    }
    expect(parsePublic(read(`${tpm.dir}/ek.pub`)).parameters.rsa?.symmetric?.keyBits).toBe(128);
  });

  it('every quote verifies with its nonce and the PCR file in both tpm2-tools formats', () => {
    for (const q of quotes) {
      const ak = parsePublic(read(q.ak));
      const quote = read(q.msg);
      const attest = parseTpmsAttest(quote);
      if (attest.attested.kind !== 'quote') throw new Error('not a quote');
      const sel = attest.attested.pcrSelect;
      const serialized = parsePcrFile(read(q.pcrs), sel);
      expect(serialized.format).toBe('serialized');
      const values = parsePcrFile(read(q.pcrValues), sel);
      expect(values.format).toBe('values');
      // Both formats carry what tpm2_pcrread reports.
      expect(pcrBanksToJson(serialized.values)).toEqual(pcrBanksToJson(values.values));
      for (const s of sel) for (const p of s.pcrs) expect(serialized.values[s.hash]?.get(p)).toEqual(pcrRead[s.hash]?.get(p));
      const r = verifyQuote({ akPub: ak, quote, signature: read(q.sig), expectedExtraData: fromHex(q.nonceHex)!, pcrValues: serialized.values });
      expect(r.failures, q.name).toEqual([]);
      expect(r.signature.sigAlg).toBe(q.akKind);
      expect(r.pcrSelection.map((s) => s.hash)).toEqual(q.selection.includes('sha1') ? ['sha1', 'sha256'] : ['sha256']);
    }
  });

  it('swtpm signs RSAPSS with salt length = digest length', () => {
    const q = quotes.find((x) => x.akKind === 'rsapss')!;
    const sig = parseTpmtSignature(read(q.sig));
    if (sig.sigAlg !== 'rsapss') throw new Error('not PSS');
    const key = publicKeyFromTpmt(parsePublic(read(q.ak)));
    expect(verify('sha256', read(q.msg), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig.sig)).toBe(true);
  });

  it('tampered copies fail with the right code', () => {
    for (const q of quotes) {
      const ak = parsePublic(read(q.ak));
      const quote = read(q.msg);
      const sig = read(q.sig);
      const nonce = fromHex(q.nonceHex)!;
      const attest = parseTpmsAttest(quote);
      const sel = attest.attested.kind === 'quote' ? attest.attested.pcrSelect : [];
      const pcrs = parsePcrFile(read(q.pcrs), sel).values;

      const badMsg = quote.slice();
      badMsg[badMsg.length - 3]! ^= 0x10; // inside pcrDigest
      expect(codes(verifyQuote({ akPub: ak, quote: badMsg, signature: sig, expectedExtraData: nonce, pcrValues: pcrs }))).toEqual([
        'pcr_digest_mismatch',
        'quote_signature_invalid',
      ]);
      const badSig = sig.slice();
      badSig[badSig.length - 5]! ^= 0x01;
      expect(codes(verifyQuote({ akPub: ak, quote, signature: badSig, expectedExtraData: nonce, pcrValues: pcrs }))).toEqual(['quote_signature_invalid']);
      const badPcrFile = read(q.pcrs);
      badPcrFile[badPcrFile.length - 532 + 4 + 2 + 5]! ^= 0x01; // first digest of the last TPML_DIGEST
      const badPcrs = parsePcrSerialized(badPcrFile);
      expect(codes(verifyQuote({ akPub: ak, quote, signature: sig, expectedExtraData: nonce, pcrValues: badPcrs }))).toEqual(['pcr_digest_mismatch']);
      const wrongNonce = nonce.slice();
      wrongNonce[0]! ^= 0xff;
      expect(codes(verifyQuote({ akPub: ak, quote, signature: sig, expectedExtraData: wrongNonce, pcrValues: pcrs }))).toEqual(['nonce_mismatch']);
      // The other AKs do not verify this quote.
      for (const other of quotes.filter((o) => o.akKind !== q.akKind)) {
        const r = verifyQuote({ akPub: parsePublic(read(other.ak)), quote, signature: sig, expectedExtraData: nonce });
        expect(r.ok).toBe(false);
      }
    }
  });
});
