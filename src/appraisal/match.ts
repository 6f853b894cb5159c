/** Small matchers shared by the rules: digests in the appraised bank, text patterns. */
import type { TcgEvent } from '../eventlog/types.ts';
import { anchoredLinear } from '../golden/pattern.ts';
import type { TextMatch } from '../golden/schema.ts';
import type { HashAlg } from '../tpm/alg.ts';
import { toHex } from '../util/encoding.ts';

export function eventDigestHex(ev: TcgEvent, bank: HashAlg): string | undefined {
  const d = ev.digests[bank];
  return d === undefined ? undefined : toHex(d);
}

const regexCache = new Map<string, RegExp>();

/** Patterns are always anchored: the whole text must match, so "quiet" never matches "quiet init=/bin/sh". */
export function compilePattern(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = anchoredLinear(pattern);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

export function textMatches(m: TextMatch, s: string): boolean {
  return typeof m === 'string' ? m === s : compilePattern(m.pattern).test(s);
}

export function describeTextMatch(m: TextMatch): string {
  return typeof m === 'string' ? m : `/${m.pattern}/`;
}

/**
 * An entry with text and/or digests: digests pin the digest; text alone needs the text verified by
 * the digest (`textVerified`), since the log's text is otherwise only a claim.
 */
export function textEntryMatches(
  entry: { text?: TextMatch | undefined; digests?: string[] | undefined },
  text: string | undefined,
  digestHex: string,
  textVerified: boolean,
): boolean {
  if (entry.digests !== undefined && !entry.digests.includes(digestHex)) return false;
  if (entry.text !== undefined) {
    if (entry.digests === undefined && !textVerified) return false;
    if (text === undefined || !textMatches(entry.text, text)) return false;
  }
  return true;
}

/** A short human name of the event's component, for findings. */
export function describeEvent(ev: TcgEvent): string {
  const d = ev.decoded;
  switch (d.kind) {
    case 'efi_variable': {
      let s = `UEFI variable ${d.name}`;
      if (d.loadOption !== undefined) s += ` "${d.loadOption.description}"`;
      return s;
    }
    case 'image_load':
      return d.path !== undefined && d.path !== '' ? `EFI image ${d.path}` : `EFI image at 0x${d.imageLocationInMemory.toString(16)} (no path)`;
    case 'firmware_blob':
      return `firmware blob${d.description !== undefined ? ` "${d.description}"` : ''} base 0x${d.base.toString(16)} length ${d.length}`;
    case 'text':
      return `"${d.text.length > 200 ? `${d.text.slice(0, 200)}…` : d.text}"`;
    case 'separator':
      return `separator ${d.value === null ? toHex(d.raw) : d.value}`;
    case 'gpt':
      return `GPT disk ${d.diskGuid}`;
    default:
      return ev.typeName;
  }
}
