/** Small matchers shared by the rules: digests in the appraised bank, text patterns, content binding. */
import { DataHashes, hashOf } from '../eventlog/data-hash.ts';
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

function stripTrailingNuls(b: Uint8Array): Uint8Array {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return b.subarray(0, n);
}

const GRUB_PREFIX_RE = /^(?:grub_cmd:? |kernel_cmdline:? |grub_kernel_cmdline )/;
const utf8 = new TextEncoder();

/**
 * True when the event's digest in `bank` is the hash of its content, so decoded content can be
 * trusted (the quote binds the digest, not the data). Accepted forms: the event data; the data
 * without trailing NULs; for grub text events the text without grub's prefix (what grub hashes);
 * for UEFI variables the VariableData alone (firmware that measures only the value).
 * `dataHashes` shares H(event data) with the digest-consistency check of the same appraisal.
 */
export function isContentBound(ev: TcgEvent, bank: HashAlg, dataHashes: DataHashes = new DataHashes()): boolean {
  const d = ev.digests[bank];
  if (d === undefined) return false;
  // Any accepted form will do; the grub form is tried early because grub events are numerous.
  if (dataHashes.matches(ev.data, bank, d)) return true;
  const grubText = grubMeasuredText(ev);
  if (grubText !== undefined && hashOf(bank, grubText).equals(d)) return true;
  const stripped = stripTrailingNuls(ev.data);
  if (stripped.length !== ev.data.length && hashOf(bank, stripped).equals(d)) return true;
  if (ev.decoded.kind === 'efi_variable' && hashOf(bank, ev.decoded.variableData).equals(d)) return true;
  return false;
}

/** The bytes grub hashes for an ASCII text event: its text after grub's log-only prefix. */
function grubMeasuredText(ev: TcgEvent): Uint8Array | undefined {
  if (ev.decoded.kind !== 'text' || ev.decoded.encoding !== 'ascii') return undefined;
  const m = GRUB_PREFIX_RE.exec(ev.decoded.text);
  if (m === null) return undefined;
  const prefix = m[0];
  // The text is the UTF-8 data (minus a final NUL): when the data starts with the ASCII prefix,
  // the rest of the text is exactly the data bytes after it, so no re-encoding is needed.
  let startsWithPrefix = ev.data.length >= prefix.length;
  for (let i = 0; startsWithPrefix && i < prefix.length; i++) startsWithPrefix = ev.data[i] === prefix.charCodeAt(i);
  if (startsWithPrefix) return ev.data.subarray(prefix.length, ev.data.length - (ev.decoded.nulTerminated ? 1 : 0));
  return utf8.encode(ev.decoded.text.slice(prefix.length));
}

/**
 * An entry with text and/or digests: digests pin the digest; text alone needs the content bound.
 * `isBound` is called only for a text-only entry whose text matches (it hashes the content).
 */
export function textEntryMatches(
  entry: { text?: TextMatch | undefined; digests?: string[] | undefined },
  text: string | undefined,
  digestHex: string,
  isBound: () => boolean,
): boolean {
  if (entry.digests !== undefined && !entry.digests.includes(digestHex)) return false;
  if (entry.text !== undefined) {
    if (text === undefined || !textMatches(entry.text, text)) return false;
    if (entry.digests === undefined && !isBound()) return false;
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
