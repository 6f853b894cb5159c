/** AK policy: only restricted signing keys born in the TPM are bound to a host. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAkPublic } from '../src/enrollment/ak-policy.ts';
import { type TPMT_PUBLIC, TPMA_OBJECT, TPM_ALG, TPM_ECC_CURVE, encodeTpmtPublic, parsePublic, parseTpmtPublic } from '../src/tpm/index.ts';
import { type SwtpmHandle, haveSwtpm, startSwtpm } from './helpers/swtpm.ts';

const AK_ATTRS =
  TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.userWithAuth | TPMA_OBJECT.restricted | TPMA_OBJECT.sign;

function rsaAk(over: { attrs?: number; keyBits?: number; nameAlg?: TPMT_PUBLIC['nameAlg'] } = {}): TPMT_PUBLIC {
  const keyBits = over.keyBits ?? 2048;
  return parseTpmtPublic(
    encodeTpmtPublic({
      type: 'rsa',
      nameAlg: over.nameAlg ?? 'sha256',
      objectAttributes: over.attrs ?? AK_ATTRS,
      authPolicy: new Uint8Array(0),
      parameters: { rsa: { symmetric: null, scheme: { scheme: TPM_ALG.RSASSA, hashAlg: 'sha256' }, keyBits, exponent: 0 } },
      unique: { rsa: new Uint8Array(keyBits / 8).fill(0xa5) },
    }),
  );
}

function eccAk(curveId: number): TPMT_PUBLIC {
  return parseTpmtPublic(
    encodeTpmtPublic({
      type: 'ecc',
      nameAlg: 'sha256',
      objectAttributes: AK_ATTRS,
      authPolicy: new Uint8Array(0),
      parameters: { ecc: { symmetric: null, scheme: { scheme: TPM_ALG.ECDSA, hashAlg: 'sha256' }, curveId, kdf: { scheme: TPM_ALG.NULL } } },
      unique: { ecc: { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) } },
    }),
  );
}

const codes = (p: TPMT_PUBLIC): string[] => checkAkPublic(p).map((f) => f.code);

describe('checkAkPublic', () => {
  it('accepts restricted signing RSA-2048, ECC P-256 and P-384 AKs', () => {
    expect(checkAkPublic(rsaAk())).toEqual([]);
    expect(checkAkPublic(rsaAk({ keyBits: 3072, nameAlg: 'sha384' }))).toEqual([]);
    expect(checkAkPublic(eccAk(TPM_ECC_CURVE.NIST_P256))).toEqual([]);
    expect(checkAkPublic(eccAk(TPM_ECC_CURVE.NIST_P384))).toEqual([]);
  });

  it('refuses keys that are not restricted signing keys: ak_not_restricted, naming the attributes', () => {
    const unrestricted = checkAkPublic(rsaAk({ attrs: AK_ATTRS & ~TPMA_OBJECT.restricted }));
    expect(unrestricted.map((f) => f.code)).toEqual(['ak_not_restricted']);
    expect(unrestricted[0]?.actual).not.toContain('restricted');
    expect(codes(rsaAk({ attrs: (AK_ATTRS & ~TPMA_OBJECT.sign) | TPMA_OBJECT.decrypt }))).toEqual(['ak_not_restricted']);
    expect(codes(rsaAk({ attrs: AK_ATTRS | TPMA_OBJECT.decrypt }))).toEqual(['ak_not_restricted']);
  });

  it('refuses keys that could have been imported or duplicated: ak_attributes_invalid, naming what is missing', () => {
    for (const missing of ['fixedTPM', 'fixedParent', 'sensitiveDataOrigin'] as const) {
      const f = checkAkPublic(rsaAk({ attrs: AK_ATTRS & ~TPMA_OBJECT[missing] }));
      expect(f.map((x) => x.code)).toEqual(['ak_attributes_invalid']);
      expect(f[0]?.message).toContain(missing);
    }
  });

  it('refuses weak or unsupported algorithms: ak_algorithm_unsupported', () => {
    expect(codes(rsaAk({ keyBits: 1024 }))).toEqual(['ak_algorithm_unsupported']);
    expect(codes(rsaAk({ nameAlg: 'sha1' }))).toEqual(['ak_algorithm_unsupported']);
    expect(codes(eccAk(TPM_ECC_CURVE.BN_P256))).toEqual(['ak_algorithm_unsupported']);
    expect(codes(eccAk(TPM_ECC_CURVE.NIST_P521))).toEqual(['ak_algorithm_unsupported']);
  });

  it('reports every problem at once', () => {
    expect(codes(rsaAk({ keyBits: 1024, attrs: TPMA_OBJECT.sign | TPMA_OBJECT.decrypt }))).toEqual(['ak_not_restricted', 'ak_attributes_invalid', 'ak_algorithm_unsupported']);
  });
});

describe.skipIf(!haveSwtpm())('AKs made by a TPM (swtpm; skipped: swtpm/tpm2-tools not installed)', () => {
  let tpm: SwtpmHandle;
  beforeAll(async () => {
    tpm = await startSwtpm();
    await tpm.tpm2('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
  });
  afterAll(async () => {
    await tpm?.stop();
  });
  const pub = (f: string): TPMT_PUBLIC => parsePublic(new Uint8Array(readFileSync(path.join(tpm.dir, f))));

  it('tpm2_createak RSA and ECC AKs pass', async () => {
    for (const g of ['rsa', 'ecc']) {
      await tpm.tpm2('tpm2_createak', ['-C', 'ek.ctx', '-c', `ak-${g}.ctx`, '-u', `ak-${g}.pub`, '-n', `ak-${g}.name`, '-G', g]);
      expect(checkAkPublic(pub(`ak-${g}.pub`))).toEqual([]);
    }
  });

  it('an ordinary (unrestricted) signing key from tpm2_create fails with ak_not_restricted', async () => {
    await tpm.tpm2('tpm2_createprimary', ['-C', 'o', '-c', 'primary.ctx']);
    await tpm.tpm2('tpm2_create', ['-C', 'primary.ctx', '-G', 'rsa', '-u', 'key.pub', '-r', 'key.priv', '-a', 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign']);
    expect(codes(pub('key.pub'))).toEqual(['ak_not_restricted']);
    // And the EK itself (restricted decrypt) is not an AK either.
    expect(codes(pub('ek.pub'))).toContain('ak_not_restricted');
  });
});
