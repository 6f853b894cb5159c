/**
 * Membership of signature ids (signatureEntries() ids) in a Secure Boot database without rendering
 * every entry as hex: dbx holds hundreds of entries, and a profile's dbxRequired names hundreds.
 * Certificates are compared by their SHA-256 (already text); other entries by bytes, bucketed by
 * their first four. Gives exactly the answer of "is `id` among the entries' hex ids".
 */
import type { EfiSignatureList } from '../eventlog/types.ts';
import { fromHex, toHex } from '../util/encoding.ts';

const CANONICAL_HEX = /^(?:[0-9a-f]{2})+$/;

function bucketOf(b: Uint8Array): number {
  // Entries shorter than four bytes get their own buckets (negative: their length).
  return b.length >= 4 ? ((b[0] as number) * 0x1000000 + (b[1] as number) * 0x10000 + (b[2] as number) * 0x100 + (b[3] as number)) : -1 - b.length;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class SignatureIdSet {
  readonly #text = new Set<string>();
  readonly #bytes = new Map<number, Uint8Array[]>();

  constructor(lists: readonly EfiSignatureList[] | undefined) {
    for (const l of lists ?? []) {
      const isCert = l.signatureTypeName === 'x509';
      for (const s of l.signatures) {
        if (isCert && s.certSha256 !== undefined) this.#text.add(s.certSha256);
        else {
          const k = bucketOf(s.data);
          const bucket = this.#bytes.get(k);
          if (bucket === undefined) this.#bytes.set(k, [s.data]);
          else bucket.push(s.data);
        }
      }
    }
  }

  /** `idBytes`: fromHex(id) when id is canonical (lower-case) hex, else null (see requiredIdBytes). */
  has(id: string, idBytes: Uint8Array | null): boolean {
    if (this.#text.has(id)) return true;
    // A hex id equals toHex(data) exactly when it is canonical hex of the same bytes.
    if (idBytes === null) return false;
    return (this.#bytes.get(bucketOf(idBytes)) ?? []).some((d) => sameBytes(d, idBytes));
  }
}

const REQUIRED = new WeakMap<readonly string[], (Uint8Array | null)[]>();

/** The bytes of each id (null where it is not canonical hex), computed once per profile list. */
export function requiredIdBytes(ids: readonly string[]): (Uint8Array | null)[] {
  let out = REQUIRED.get(ids);
  if (out === undefined) {
    out = ids.map((id) => (CANONICAL_HEX.test(id) ? fromHex(id) : null));
    REQUIRED.set(ids, out);
  }
  return out;
}

/** For tests: the ids as signatureEntries() would render them. */
export function renderedIds(lists: readonly EfiSignatureList[] | undefined): Set<string> {
  const ids = new Set<string>();
  for (const l of lists ?? []) for (const s of l.signatures) ids.add(l.signatureTypeName === 'x509' ? (s.certSha256 ?? toHex(s.data)) : toHex(s.data));
  return ids;
}
