// How values read on the page: trust states, times, digests and decoded event data.
import { html } from './html.js';
import { ApiError } from './api.js';

export const STATES = ['untrusted', 'expired', 'unknown', 'trusted'];

export const STATE_LABEL = { trusted: 'Trusted', untrusted: 'Untrusted', expired: 'Expired', unknown: 'Unknown' };

/**
 * The state to show now. `trusted` holds until the passing appraisal's token expires (contract
 * §3.3); no event marks that moment, so a page left open derives it from expiresAt.
 */
export function stateOf(host, now = Date.now()) {
  const t = host.trust ?? {};
  if (t.status === 'trusted' && t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return STATES.includes(t.status) ? t.status : 'unknown';
}

export function StateBadge({ state }) {
  return html`<span class=${`badge state-${state}`}>${STATE_LABEL[state] ?? state}</span>`;
}

export function VerdictBadge({ verdict }) {
  const state = verdict === 'pass' ? 'trusted' : 'untrusted';
  return html`<span class=${`badge state-${state}`}>${verdict === 'pass' ? 'Pass' : 'Fail'}</span>`;
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const d = t - now;
  for (const [unit, ms] of UNITS) {
    if (Math.abs(d) >= ms || unit === 'second') return rtf.format(Math.round(d / ms), unit);
  }
  return '';
}

export function absoluteTime(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' }) : '—';
}

/** A time as "in 4 minutes", with the exact time in a machine-readable element. */
export function Time({ iso }) {
  if (!iso) return html`<span class="muted">—</span>`;
  return html`<time datetime=${iso} title=${absoluteTime(iso)}>${relativeTime(iso)}</time>`;
}

export function Digest({ hex }) {
  return typeof hex === 'string' && hex !== '' ? html`<code class="digest">${hex}</code>` : html`<span class="muted">no digest in this bank</span>`;
}

const MAX_DEPTH = 4;
const MAX_ITEMS = 32;
const MAX_TEXT = 400;

function clip(s) {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}… (${s.length} characters)` : s;
}

/** Decoded event data (a path, a variable, a version string...), as nested lists, bounded in size. */
export function DecodedData({ data, depth = 0 }) {
  if (data === null || data === undefined) return html`<span class="muted">—</span>`;
  if (typeof data !== 'object') return html`<span class="data-value">${clip(String(data))}</span>`;
  if (depth >= MAX_DEPTH) return html`<span class="muted">…</span>`;
  const entries = Array.isArray(data) ? data.map((v, i) => [String(i), v]) : Object.entries(data);
  if (entries.length === 0) return html`<span class="muted">(empty)</span>`;
  const shown = entries.slice(0, MAX_ITEMS);
  return html`<dl class="data">
    ${shown.map(([k, v]) => html`<div><dt>${k}</dt><dd><${DecodedData} data=${v} depth=${depth + 1} /></dd></div>`)}
    ${entries.length > shown.length ? html`<div><dt>…</dt><dd>${entries.length - shown.length} more</dd></div>` : null}
  </dl>`;
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A failure's expected/actual, whatever shape the rule gave it. */
export function valueText(v) {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** An API refusal or failure, said on the page (a 401 or 403 names itself as such). */
export function ErrorNote({ error }) {
  return error ? html`<p class="error" role="alert">${error instanceof ApiError ? error.describe() : String(error)}</p>` : null;
}
