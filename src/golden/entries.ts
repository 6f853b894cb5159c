/**
 * Entry lists with set semantics: entries that differ only in their digests are one entry whose
 * digest set is the union. Used by learn (one host) and merge (several hosts).
 */
type WithDigests = { digests?: string[] | undefined; comment?: string | undefined };

function identity(e: WithDigests): string {
  const { digests: _d, comment: _c, ...rest } = e;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

/** Add `entry` to `list`, merging its digests into an entry with the same identity. */
export function addEntry<T extends WithDigests>(list: T[], entry: T): void {
  const id = identity(entry);
  const same = list.find((e) => identity(e) === id);
  if (same === undefined) {
    list.push(structuredClone(entry));
    return;
  }
  if (entry.digests !== undefined) {
    if (same.digests === undefined) return; // an entry without digests already allows any digest for that content
    for (const d of entry.digests) if (!same.digests.includes(d)) same.digests.push(d);
  } else {
    delete same.digests;
  }
}

export function unionEntries<T extends WithDigests>(a: readonly T[] | undefined, b: readonly T[] | undefined): T[] | undefined {
  if (a === undefined && b === undefined) return undefined;
  const out: T[] = [];
  for (const e of [...(a ?? []), ...(b ?? [])]) addEntry(out, e);
  return out;
}

export function unionStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] | undefined {
  if (a === undefined && b === undefined) return undefined;
  return [...new Set([...(a ?? []), ...(b ?? [])])];
}

export function pushUnique<T>(list: T[], v: T): void {
  if (!list.includes(v)) list.push(v);
}
