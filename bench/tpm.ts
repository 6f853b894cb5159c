/**
 * Quote verification cost: the real GCE SHA-256 quote (signature + magic/type + nonce + pcrDigest over
 * 24 PCRs), against the floor of one RSA-2048 PKCS#1 v1.5 verification with Node crypto.
 */
import { constants, createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PcrBanks, parsePublic, parseTpmtSignature, publicKeyFromTpmt, verifyQuote } from '../src/tpm/index.ts';
import { fromHex } from '../src/util/encoding.ts';

const GCE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'fixtures', 'real-eventlogs',
  'go-tpm-tools', 'internal', 'test', 'attestations', 'gce-cos-85-nonce9009.split',
);

function meanMicros(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
}

export async function bench(): Promise<Record<string, unknown>> {
  if (!existsSync(path.join(GCE, 'summary.json'))) return { skipped: `GCE fixture not found at ${GCE}` };
  const akBytes = new Uint8Array(readFileSync(path.join(GCE, 'ak_pub.tpmt_public.bin')));
  const quote = new Uint8Array(readFileSync(path.join(GCE, 'quote1_sha256.tpms_attest.bin')));
  const signature = new Uint8Array(readFileSync(path.join(GCE, 'quote1_sha256.tpmt_signature.bin')));
  const summary = JSON.parse(readFileSync(path.join(GCE, 'summary.json'), 'utf8')) as { quotes: { pcr_bank: string; pcrs: Record<string, string> }[] };
  const sha256 = summary.quotes.find((q) => q.pcr_bank === 'sha256');
  if (!sha256) return { skipped: 'no sha256 quote in summary.json' };
  const pcrValues: PcrBanks = { sha256: new Map(Object.entries(sha256.pcrs).map(([k, v]) => [Number(k), fromHex(v) as Uint8Array])) };
  const nonce = Uint8Array.of(0x90, 0x09);
  const akPub = parsePublic(akBytes);
  const akKey = publicKeyFromTpmt(akPub);
  if (!verifyQuote({ akPub, akKey, quote, signature, expectedExtraData: nonce, pcrValues }).ok) throw new Error('GCE quote did not verify');

  const iterations = 2000;
  const fullMicros = meanMicros(iterations, () => {
    verifyQuote({ akPub: parsePublic(akBytes), quote, signature, expectedExtraData: nonce, pcrValues });
  });
  const cachedKeyMicros = meanMicros(iterations, () => {
    verifyQuote({ akPub, akKey, quote, signature, expectedExtraData: nonce, pcrValues });
  });
  const sig = parseTpmtSignature(signature);
  if (sig.sigAlg === 'ecdsa') throw new Error('unexpected ECDSA');
  const der = akKey.export({ format: 'der', type: 'spki' });
  const floorKey = createPublicKey({ key: der, format: 'der', type: 'spki' });
  const floorMicros = meanMicros(iterations, () => {
    verify('sha256', quote, { key: floorKey, padding: constants.RSA_PKCS1_PADDING }, sig.sig);
  });
  return {
    iterations,
    verifyQuoteGceSha256MeanMicros: Number(fullMicros.toFixed(1)),
    verifyQuoteGceSha256CachedAkKeyMeanMicros: Number(cachedKeyMicros.toFixed(1)),
    rsa2048VerifyFloorMeanMicros: Number(floorMicros.toFixed(1)),
    overheadOverFloor: Number((cachedKeyMicros / floorMicros).toFixed(2)),
  };
}
