/** Text helpers for the demo's narration: optional colour, aligned columns, wrapping, short values. */
import type { ApiFinding } from './fleet.ts';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const plain = (s: string) => s;

/** ANSI colour only for a terminal (and never with NO_COLOR); pipes and files get plain text. */
export function makeStyle(color: boolean): Style {
  if (!color) return { bold: plain, dim: plain, green: plain, red: plain, yellow: plain };
  return { bold: sgr(1, 22), dim: sgr(2, 22), green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39) };
}

export interface Cell {
  text: string;
  paint?: (s: string) => string;
}

/** Pads every column to its widest cell (measured before painting, so colours do not skew it). */
export function columns(rows: Array<Array<string | Cell>>, indent: string, gap = '  '): string[] {
  const cells = rows.map((r) => r.map((c): Cell => (typeof c === 'string' ? { text: c } : c)));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.text.length)));
  return cells.map((r) =>
    (indent + r.map((c, i) => {
      const padded = i === r.length - 1 ? c.text : c.text.padEnd(widths[i] ?? 0);
      return c.paint ? c.paint(c.text) + padded.slice(c.text.length) : padded;
    }).join(gap)).trimEnd(),
  );
}

/** Word-wraps `text` to `width` columns; the first line after `first`, the rest after `rest`. */
export function wrap(text: string, width: number, first: string, rest = ' '.repeat(first.length)): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const prefix = lines.length === 0 ? first : rest;
    if (line && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line || lines.length === 0) lines.push((lines.length === 0 ? first : rest) + line);
  return lines;
}

const HEX_RE = /^[0-9a-f]{20,}$/i;
const MAX_TEXT = 44;

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * A value short enough for one line: digests as head…tail, long text cut to where it differs from
 * `other` (so a command line shows its tampered tail), lists as "one of …".
 */
export function shortValue(v: unknown, other?: unknown): string {
  if (v === null || v === undefined) return '(absent)';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    if (HEX_RE.test(v)) return `${v.slice(0, 8)}…${v.slice(-6)}`;
    if (v.length <= MAX_TEXT) return JSON.stringify(v);
    const counterpart = Array.isArray(other) ? other.find((o) => typeof o === 'string') : other;
    const p = typeof counterpart === 'string' ? commonPrefix(v, counterpart) : 0;
    const from = p > 16 ? Math.max(0, p - 16) : 0;
    const cut = v.slice(from, from + MAX_TEXT);
    return `"${from > 0 ? '…' : ''}${cut}${from + MAX_TEXT < v.length ? '…' : ''}"`;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '(nothing allowed)';
    const pick = v.slice(0, 2).map((x: unknown) => shortValue(x, other));
    if (v.length === 1) return pick[0] ?? '';
    return `one of ${pick.join(', ')}${v.length > 2 ? ` (+${v.length - 2} more)` : ''}`;
  }
  if (typeof v === 'object') {
    const digest = (v as Record<string, unknown>)['sha256'];
    if (typeof digest === 'string') return shortValue(digest);
    const json = JSON.stringify(v);
    return json.length > MAX_TEXT ? `${json.slice(0, MAX_TEXT - 1)}…` : json;
  }
  return String(v);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Where a finding is, e.g. "PCR 0, event #4 EV_EFI_PLATFORM_FIRMWARE_BLOB"; undefined when it names no place. */
export function findingLocation(f: ApiFinding): string | undefined {
  const parts = [f.pcr !== undefined ? `PCR ${f.pcr}` : '', f.eventIndex !== undefined ? `event #${f.eventIndex}${f.eventType ? ` ${f.eventType}` : ''}` : ''];
  const where = parts.filter(Boolean).join(', ');
  return where || undefined;
}

/** The finding's component (what was measured), clipped to one line. */
export function findingComponent(f: ApiFinding, max = 80): string | undefined {
  return f.component ? clip(f.component, max) : undefined;
}

export function findingMessage(f: ApiFinding, max = 64): string {
  return clip(f.message, max);
}

/** "expected …; actual …", or undefined when the finding carries neither. */
export function findingValues(f: ApiFinding): string | undefined {
  if (f.expected === undefined && f.actual === undefined) return undefined;
  const [exp, act] = VALUE_LABELS[f.code] ?? ['expected', 'actual'];
  return `${exp} ${shortValue(f.expected, f.actual)}; ${act} ${shortValue(f.actual, f.expected)}`;
}

/** Codes whose expected/actual mean something more specific than "golden vs measured". */
const VALUE_LABELS: Record<string, [string, string]> = {
  pcr_replay_mismatch: ['the TPM quoted', 'the log replays to'],
  pcr_unexplained: ['expected its reset value', 'the TPM quoted'],
};

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
