/**
 * Lookups over a golden profile's allow-lists, built once per list and kept by its identity, so
 * each event is one Map/Set lookup instead of a scan of every entry (a learned profile lists every
 * grub command: a scan per event is quadratic). Profiles are not mutated after they are loaded (the
 * catalog replaces them); a list whose length changed is indexed again all the same.
 */
import type { DigestEntry, ImageEntry, TextEntry } from '../golden/schema.ts';

interface Indexed<T> {
  length: number;
  value: T;
}

const CACHE = new WeakMap<readonly unknown[], Indexed<unknown>>();

function indexOf<E, T>(entries: readonly E[], build: (entries: readonly E[]) => T): T {
  const hit = CACHE.get(entries);
  if (hit !== undefined && hit.length === entries.length) return hit.value as T;
  const value = build(entries);
  CACHE.set(entries, { length: entries.length, value });
  return value;
}

/** digest -> the `type` restrictions of the entries listing it (undefined: any type). */
function digestTypes(entries: readonly DigestEntry[]): Map<string, (string | undefined)[]> {
  const m = new Map<string, (string | undefined)[]>();
  for (const e of entries) for (const d of e.digests) m.set(d, [...(m.get(d) ?? []), e.type]);
  return m;
}

/** Some entry lists `digest` for this event type. */
export function digestEntryAllows(entries: readonly DigestEntry[] | undefined, typeName: string, digest: string): boolean {
  if (entries === undefined || entries.length === 0) return false;
  return indexOf(entries, digestTypes).get(digest)?.some((t) => t === undefined || t === typeName) === true;
}

function imageDigests(entries: readonly ImageEntry[]): Set<string> {
  return new Set(entries.flatMap((e) => e.digests));
}

/** Some image entry lists `digest`. */
export function imageEntryAllows(entries: readonly ImageEntry[] | undefined, digest: string): boolean {
  return entries !== undefined && entries.length > 0 && indexOf(entries, imageDigests).has(digest);
}

interface TextIndex {
  byDigest: Map<string, TextEntry[]>;
  /** Entries without digests: they may match any digest, by text. */
  textOnly: TextEntry[];
}

function textIndex(entries: readonly TextEntry[]): TextIndex {
  const byDigest = new Map<string, TextEntry[]>();
  const textOnly: TextEntry[] = [];
  for (const e of entries) {
    if (e.digests === undefined) textOnly.push(e);
    else for (const d of new Set(e.digests)) byDigest.set(d, [...(byDigest.get(d) ?? []), e]);
  }
  return { byDigest, textOnly };
}

/**
 * The entries that can match an event with this digest: those listing it and those without
 * digests. An entry with digests that lack this one never matches (textEntryMatches).
 */
export function textEntryCandidates(entries: readonly TextEntry[] | undefined, digest: string): readonly TextEntry[] {
  if (entries === undefined || entries.length === 0) return [];
  const ix = indexOf(entries, textIndex);
  const listed = ix.byDigest.get(digest);
  return listed === undefined ? ix.textOnly : ix.textOnly.length === 0 ? listed : [...listed, ...ix.textOnly];
}
