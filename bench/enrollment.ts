/**
 * Enrollment benchmark: the verifier's work for one POST /v1/enrollments. MakeCredential for
 * RSA-2048, ECC P-256 and P-384 EKs, EK certificate chain validation (pkijs) against the shipped
 * roots, and the whole prepareEnrollment, on tpm-sim hosts. Floor: one KDFa block. Figures are
 * µs per operation: the mean, and the best batch mean (less sensitive to a shared machine).
 */
import { createSimHost } from '../tpm-sim/index.ts';
import { loadEkRoots } from '../src/enrollment/ek-roots.ts';
import { validateEkCertificate } from '../src/enrollment/ek-chain.ts';
import { prepareEnrollment } from '../src/enrollment/prepare.ts';
import { kdfa, makeCredential, parsePublic } from '../src/tpm/index.ts';

async function measure(fn: () => unknown, batches = 10, perBatch = 20): Promise<{ meanUs: number; bestBatchUs: number }> {
  for (let i = 0; i < perBatch; i++) await fn();
  let total = 0;
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) await fn();
    const ms = performance.now() - t0;
    total += ms;
    best = Math.min(best, ms / perBatch);
  }
  const round = (ms: number): number => Math.round(ms * 10_000) / 10;
  return { meanUs: round(total / (batches * perBatch)), bestBatchUs: round(best) };
}

export async function bench(): Promise<Record<string, unknown>> {
  // tpm-sim hosts chain to the dev root, which is never among the shipped defaults.
  const roots = loadEkRoots(new URL('../tpm-sim/ca/dev-root.crt.pem', import.meta.url).pathname);
  const seed = new Uint8Array(32);
  const out: Record<string, unknown> = {
    floorKdfaOneBlock: await measure(() => kdfa('sha256', seed, 'STORAGE', seed, new Uint8Array(0), 128), 10, 200),
  };
  for (const ekType of ['rsa', 'ecc'] as const) {
    const host = createSimHost({ ekType, akType: 'ecc' });
    const ekPub = parsePublic(host.ekPub);
    const secret = new Uint8Array(32);
    out[`makeCredential_${ekType}`] = await measure(() => makeCredential(ekPub, host.akName, secret));
    out[`validateEkCertificate_${ekType}`] = await measure(() => validateEkCertificate({ ekCert: host.ekCertDer, roots, now: new Date() }));
    out[`prepareEnrollment_${ekType}`] = await measure(() =>
      prepareEnrollment({ hostId: 'bench-host', ekCert: host.ekCertDer, ekPub: host.ekPub, akPub: host.akPub, roots, now: new Date() }),
    );
  }
  return out;
}
