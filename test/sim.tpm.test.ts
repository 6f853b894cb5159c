/**
 * tpm-sim's TPM: key templates byte-exact with a real (software) TPM, quotes that bootgate's
 * verifier and tpm2_checkquote accept, clock and reset counters, PCR reset rules.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePublic, parseTpmsAttest, verifyQuote } from '../src/tpm/index.ts';
import { toHex } from '../src/util/encoding.ts';
import { akPublic, createSimHost, ekPublic, qualifiedName, writeTpm2ToolsPcrs } from '../tpm-sim/index.ts';
import { haveTool } from './helpers/swtpm.ts';

const haveCheckquote = haveTool('tpm2_checkquote');
const haveOpenssl = haveTool('openssl', 'openssl');

// Written by swtpm 0.x + tpm2-tools 5.4 in this project (tpm2_createek -G rsa -u ek.pub; tpm2_createak -C ek.ctx -u ak.pub).
// tpm2_createak printed: name 000b831a…289b, qualified name 000bc620…eab5.
const SWTPM_EK_RSA = '013a0001000b000300b20020837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa00060080004300100800000000000100ec81678792c3b7d20efd7679542736e57a913b503d959cd46fe3fe238aa8591739372ad1335ef3f6909facef8dbac927283fcc105c3b6936a94a23a9b857cf7b4fefe0d9e99e53977ae7bbd73905ff70f050817bd0b8c732b6df524c7a00961ec624c10369ab584e2eae5acd831771b443c03fd6a76ea4764217b76729611eb73c7a0824366ce9501a301296db65d283718dd959cbb75e6b0d258fc09143e515575fb152bf8e4d76934d7a956fddfd6d8e2522d0c92413ec9ca979fcfc7060ee08106f4502ad349ed71e5960c2c18f763a05b797c8f74df74aa6a56581ee3f54641cdc39f2a7f0cf182d8125287661abe0ffd8dd1d12476abda5d852169543ed';
const SWTPM_AK_RSA = '01180001000b00050072000000100014000b0800000000000100e56ab174e346d162fc611cbaff7bfebaa33bd095e57a36a7f925dc596e43bb8afcca0dff309752aca6b59260d4857bcacad75b7c86ca05de998b8e47faeb12495e8956b11553f825ab90e5b9e0b694672d6bcae7c193f883a2230c793e997bd4d42ffeef410ed1b52b83b887e729ab2d61d2491de66416d8c5ef9c95c44d48462e417bc05d405d68e41f3460179d1d32914cde6715015143f31197335f057ec0500944afb1be1f399b53aae234970924af79c0938e0d2e040ac7750ac6f6325b299c4a0b54e1946f90218df13f165adbc5852b054f342ca467a4dbaaeb17fc4d80fbc9c63c0855df978cb1d1a4d20b29bcb38f0a225f655bfe9fcf44e4f53d13';
const SWTPM_AK_QUALIFIED_NAME = '000bc620432189743f4335903274a45f30d0721d80af3f869a076cf30eba6d03eab5';
const SWTPM_EK_ECC = '007a0023000b000300b20020837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa0006008000430010000300100020cdfda6e573b7f358e242ff4ce2de8c104aee808cd8cfb4e5874eb597925ebca60020fb86565761f94bae5f2da33040c21993bf47bf3e88339bb3227e7816359de300';

function rsaKeyOf(hex: string) {
  const pub = parsePublic(Buffer.from(hex, 'hex'));
  const n = pub.unique.rsa;
  if (!n) throw new Error('not RSA');
  return { pub, key: createPublicKey({ key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: 'AQAB' }, format: 'jwk' }) };
}

describe('templates match what a TPM builds', () => {
  it('RSA EK (TCG template L-1) is byte-identical to swtpm for the same key', () => {
    const { pub, key } = rsaKeyOf(SWTPM_EK_RSA);
    expect(toHex(ekPublic('rsa', key).bytes)).toBe(toHex(pub.bytes));
  });
  it('ECC P-256 EK (TCG template L-2) is byte-identical to swtpm for the same key', () => {
    const pub = parsePublic(Buffer.from(SWTPM_EK_ECC, 'hex'));
    const p = pub.unique.ecc;
    if (!p) throw new Error('not ECC');
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: Buffer.from(p.x).toString('base64url'), y: Buffer.from(p.y).toString('base64url') },
      format: 'jwk',
    });
    expect(toHex(ekPublic('ecc', key).bytes)).toBe(toHex(pub.bytes));
  });
  it('RSA AK is byte-identical to tpm2_createak, and the qualified name matches what it printed', () => {
    const ek = rsaKeyOf(SWTPM_EK_RSA);
    const ak = rsaKeyOf(SWTPM_AK_RSA);
    const mine = akPublic('rsa', ak.key);
    expect(toHex(mine.bytes)).toBe(toHex(ak.pub.bytes));
    expect(toHex(qualifiedName(ek.pub, mine))).toBe(SWTPM_AK_QUALIFIED_NAME);
  });
  it('host AKs are restricted signing keys with fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth', () => {
    for (const akType of ['rsa', 'rsapss', 'ecc'] as const) {
      const h = createSimHost({ ekType: 'ecc', akType });
      expect(parsePublic(h.akPub).objectAttributes).toBe(0x00050072);
      expect(parsePublic(h.ekPub).objectAttributes).toBe(0x000300b2);
    }
  });
});

const SELECTION = [
  { hash: 'sha1' as const, pcrs: [0, 1, 7] },
  { hash: 'sha256' as const, pcrs: [...Array(16).keys()] },
  { hash: 'sha384' as const, pcrs: [4, 11] },
];

describe('TPM2_Quote', () => {
  it.each(['rsa', 'rsapss', 'ecc'] as const)('%s AK quotes verify with bootgate verifyQuote over several banks', (akType) => {
    const h = createSimHost({ ekType: 'ecc', akType });
    const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const q = h.quote(nonce, SELECTION);
    const v = verifyQuote({ akPub: parsePublic(h.akPub), quote: q.quote, signature: q.signature, expectedExtraData: nonce, pcrValues: q.pcrs });
    expect(v.failures).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.pcrSelection.map((s) => s.hash)).toEqual(['sha1', 'sha256', 'sha384']);
    expect(toHex(v.attest.qualifiedSigner)).toBe(toHex(h.tpm.akQualifiedName));
    const tampered = Uint8Array.from(q.quote);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(verifyQuote({ akPub: parsePublic(h.akPub), quote: tampered, signature: q.signature }).ok).toBe(false);
  });

  it('default selection is sha256 PCRs 0-15', () => {
    const h = createSimHost({ ekType: 'ecc', akType: 'ecc' });
    const a = parseTpmsAttest(h.quote(new Uint8Array(8)).quote);
    expect(a.attested.kind === 'quote' && a.attested.pcrSelect).toEqual([{ hash: 'sha256', pcrs: [...Array(16).keys()], sizeofSelect: 3 }]);
  });

  it('clock advances; reboot resets PCRs, re-measures the same boot, increments resetCount', () => {
    const h = createSimHost({ ekType: 'ecc', akType: 'ecc' });
    const before = h.quote(Uint8Array.of(1));
    const second = h.quote(Uint8Array.of(2));
    const a1 = parseTpmsAttest(before.quote);
    const a2 = parseTpmsAttest(second.quote);
    expect(a2.clockInfo.clock > a1.clockInfo.clock).toBe(true);
    expect(a1.firmwareVersion).toBe(h.tpm.firmwareVersion);
    h.tpm.extendBank(12, 'sha256', new Uint8Array(32).fill(7));
    h.reboot();
    const after = h.quote(Uint8Array.of(3));
    const a3 = parseTpmsAttest(after.quote);
    expect(a3.clockInfo.resetCount).toBe(a1.clockInfo.resetCount + 1);
    expect(a3.clockInfo.restartCount).toBe(0);
    expect(a3.clockInfo.clock > a2.clockInfo.clock).toBe(true);
    expect(toHex(after.pcrs.sha256?.get(12) ?? new Uint8Array())).toBe('00'.repeat(32));
    for (const pcr of [0, 4, 7, 9]) expect(toHex(after.pcrs.sha256?.get(pcr) ?? new Uint8Array())).toBe(toHex(before.pcrs.sha256?.get(pcr) ?? Uint8Array.of(1)));
  });

  it('PCR 0 starts at locality 3 (00..03); only PCRs 16 and 23 can be reset', () => {
    const h = createSimHost({ ekType: 'ecc', akType: 'ecc' });
    h.tpm.pcrs.startup(3);
    expect(toHex(h.tpm.pcrs.read('sha256', 0))).toBe(`${'00'.repeat(31)}03`);
    expect(toHex(h.tpm.pcrs.read('sha1', 17))).toBe('ff'.repeat(20));
    expect(() => h.tpm.pcrs.reset(4)).toThrow(/not resettable/);
    h.tpm.extendBank(16, 'sha256', new Uint8Array(32).fill(1));
    h.tpm.pcrs.reset(16);
    expect(toHex(h.tpm.pcrs.read('sha256', 16))).toBe('00'.repeat(32));
  });
});

describe.skipIf(!haveCheckquote)('tpm2_checkquote accepts tpm-sim quotes (skipped: tpm2-tools not on PATH)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-quote-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function files(akType: 'rsa' | 'rsapss' | 'ecc') {
    const h = createSimHost({ ekType: 'ecc', akType });
    const q = h.quote(Buffer.from('c0ffee', 'hex'), SELECTION);
    const f = (n: string) => join(dir, `${akType}.${n}`);
    writeFileSync(f('pub'), h.akPub);
    writeFileSync(f('msg'), q.quote);
    writeFileSync(f('sig'), q.signature);
    writeFileSync(f('pcrs'), writeTpm2ToolsPcrs(SELECTION, q.pcrs));
    return { f, q };
  }
  const check = (f: (n: string) => string, nonce: string, msg = f('msg')) =>
    spawnSync('tpm2_checkquote', ['-u', f('pub'), '-m', msg, '-s', f('sig'), '-f', f('pcrs'), '-g', 'sha256', '-q', nonce], { encoding: 'utf8' });

  it.each(['rsa', 'ecc'] as const)('%s AK: accepted with the PCR file; wrong nonce, tampered message and tampered PCRs rejected', (akType) => {
    const { f, q } = files(akType);
    const ok = check(f, 'c0ffee');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('pcrs:');
    expect(check(f, 'c0ffef').status).not.toBe(0);
    const bad = Uint8Array.from(q.quote);
    bad[bad.length - 3] = (bad[bad.length - 3] ?? 0) ^ 0x80;
    writeFileSync(f('bad'), bad);
    expect(check(f, 'c0ffee', f('bad')).status).not.toBe(0);
    const pcrs = writeTpm2ToolsPcrs(SELECTION, q.pcrs);
    const firstValue = 4 + 16 * 8 + 4 + 4 + 2; // inside the first TPM2B_DIGEST of the first TPML_DIGEST
    pcrs[firstValue] = (pcrs[firstValue] ?? 0) ^ 1;
    writeFileSync(f('pcrs'), pcrs);
    expect(check(f, 'c0ffee').status).not.toBe(0);
  });

  // tpm2_checkquote 5.x rejects every RSAPSS quote, real TPMs' included (tpm2-software/tpm2-tools#3283),
  // so the RSAPSS signature (salt = digest length) is checked with openssl instead.
  it.skipIf(!haveOpenssl)('rsapss AK: openssl verifies the PSS signature with salt length 32', () => {
    const { f, q } = files('rsapss');
    const pem = createPublicKey({
      key: { kty: 'RSA', n: Buffer.from(parsePublic(Buffer.from(execFileSync('cat', [f('pub')]))).unique.rsa ?? []).toString('base64url'), e: 'AQAB' },
      format: 'jwk',
    }).export({ type: 'spki', format: 'pem' });
    writeFileSync(f('pem'), pem);
    writeFileSync(f('raw'), q.signature.subarray(6));
    const r = spawnSync('openssl', ['dgst', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-verify', f('pem'), '-signature', f('raw'), f('msg')], { encoding: 'utf8' });
    expect(r.stdout).toContain('Verified OK');
  });
});
