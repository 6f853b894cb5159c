/**
 * H(event data) by algorithm, computed at most once per appraisal: the digest-consistency check and
 * the golden rules (is the digest the hash of the content?) both need it, and hashing is most of
 * an appraisal's cost. A memo lives for one appraisal of one parsed log, never longer, so it never
 * outlives the bytes it describes. Keyed by the data view: events sharing no view share no entry.
 */
import { hash } from 'node:crypto';
import type { HashAlg } from '../tpm/alg.ts';

export function hashOf(alg: HashAlg, data: Uint8Array): Buffer {
  return hash(alg, data, 'buffer') as unknown as Buffer;
}

export class DataHashes {
  readonly #memo = new Map<Uint8Array, Partial<Record<HashAlg, Buffer>>>();

  of(data: Uint8Array, alg: HashAlg): Buffer {
    let byAlg = this.#memo.get(data);
    if (byAlg === undefined) {
      byAlg = {};
      this.#memo.set(data, byAlg);
    }
    return (byAlg[alg] ??= hashOf(alg, data));
  }

  /** True when `logged` is H_alg(data). */
  matches(data: Uint8Array, alg: HashAlg, logged: Uint8Array): boolean {
    return this.of(data, alg).equals(logged);
  }
}
