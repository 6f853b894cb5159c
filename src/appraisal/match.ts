/** Small matchers shared by the rules: digests in the appraised bank, text patterns, content binding. */
import type { TcgEvent } from '../eventlog/types.ts';
import type { TextMatch } from '../golden/schema.ts';
import { digest, type HashAlg } from '../tpm/alg.ts';
import { bytesEqual, toHex } from '../util/encoding.ts';

export function eventDigestHex(ev: TcgEvent, bank: HashAlg): string | undefined {
  const d = ev.digests[bank];
  return d === undefined ? undefined : toHex(d);
}

const regexCache = new Map<string, RegExp>();

/** Patterns are always anchored: the whole text must match, so "quiet" never matches "quiet init=/bin/sh". */
export function compilePattern(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^(?:${pattern})$`, 'u');
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

/**
 * True when the event's digest in `bank` is the hash of its content, so decoded content can be
 * trusted (the quote binds the digest, not the data). Accepted forms: the event data; the data
 * without trailing NULs; for grub text events the text without grub's prefix (what grub hashes);
 * for UEFI variables the VariableData alone (firmware that measures only the value).
 */
export function isContentBound(ev: TcgEvent, bank: HashAlg): boolean {
  const d = ev.digests[bank];
  if (d === undefined) return false;
  if (bytesEqual(d, digest(bank, ev.data))) return true;
  const stripped = stripTrailingNuls(ev.data);
  if (stripped.length !== ev.data.length && bytesEqual(d, digest(bank, stripped))) return true;
  if (ev.decoded.kind === 'text' && ev.decoded.encoding === 'ascii') {
    const m = GRUB_PREFIX_RE.exec(ev.decoded.text);
    if (m !== null && bytesEqual(d, digest(bank, new TextEncoder().encode(ev.decoded.text.slice(m[0].length))))) return true;
  }
  if (ev.decoded.kind === 'efi_variable' && bytesEqual(d, digest(bank, ev.decoded.variableData))) return true;
  return false;
}

/** An entry with text and/or digests: digests pin the digest; text alone needs the content bound. */
export function textEntryMatches(
  entry: { text?: TextMatch | undefined; digests?: string[] | undefined },
  text: string | undefined,
  digestHex: string,
  bound: boolean,
): boolean {
  if (entry.digests !== undefined && !entry.digests.includes(digestHex)) return false;
  if (entry.text !== undefined) {
    if (text === undefined || !textMatches(entry.text, text)) return false;
    if (entry.digests === undefined && !bound) return false;
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
