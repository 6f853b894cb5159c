/** Human tables of the server-talking commands (hosts, drift): one line per host, change or group. */
import { columns, shortValue } from '../demo/format.ts';

export interface ChangeSide {
  eventIndex: number;
  digest: string;
  data?: Record<string, unknown>;
  dataVerified?: false;
}
export interface Change {
  pcr: number;
  component: string;
  eventType: string;
  change: string;
  before?: ChangeSide;
  after?: ChangeSide;
}

export const UNVERIFIED_NOTE = '* data the digest does not cover: only the log says so';

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** What an event is, from its decoded data: a path, a text (cut where it differs from `other`'s), a variable and its state. */
function dataText(d: Record<string, unknown> | undefined, other: Record<string, unknown> | undefined): string {
  if (d === undefined) return '';
  const s = (k: string): string | undefined => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  if (s('path') !== undefined) return s('path') as string;
  if (s('text') !== undefined) return shortValue(s('text'), other?.text);
  if (s('variable') !== undefined) {
    const enabled = typeof d.enabled === 'boolean' ? ` = ${d.enabled ? 'on' : 'off'}` : '';
    const certs = Array.isArray(d.certificates) ? ` (${d.certificates.length} certificates)` : '';
    return `${s('variable')}${enabled}${certs}`;
  }
  return s('description') ?? '';
}

function side(x: ChangeSide | undefined, other: ChangeSide | undefined): string {
  if (x === undefined) return '-';
  const what = dataText(x.data, other?.data);
  return `${x.digest.slice(0, 12)}${what !== '' ? ` ${clip(what, 50)}${x.dataVerified === false ? '*' : ''}` : ''}`;
}

export function changeTable(changes: readonly Change[], indent = ''): string[] {
  const rows = [['PCR', 'COMPONENT', 'CHANGE', 'EVENT TYPE', 'BEFORE', 'AFTER']];
  for (const c of changes) rows.push([String(c.pcr), c.component, c.change, c.eventType, side(c.before, c.after), side(c.after, c.before)]);
  const out = columns(rows, indent);
  if (changes.some((c) => c.before?.dataVerified === false || c.after?.dataVerified === false)) out.push(`${indent}${UNVERIFIED_NOTE}`);
  return out;
}

/** "PCR 4 bootloader modified; PCR 2 option_rom added", at most `max` characters. */
export function changeSummary(changes: readonly Change[], max = 60): string {
  if (changes.length === 0) return '(boot unchanged)';
  return clip(changes.map((c) => `PCR ${c.pcr} ${c.component} ${c.change}`).join('; '), max);
}

export function table(rows: string[][]): string {
  return `${columns(rows, '').join('\n')}\n`;
}
