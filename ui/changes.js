// The `changes` diff (contract §6), side by side, and a failure list: shared by the host and drift views.
import { html } from './html.js';
import { DecodedData, Digest, valueText } from './format.js';

const CHANGE_LABEL = { added: 'Added', removed: 'Removed', modified: 'Modified' };

function EventSide({ side, label }) {
  if (!side) return html`<td class="side side-absent"><span class="muted">not in the ${label} boot</span></td>`;
  return html`<td class="side">
    <div>event <strong>#${side.eventIndex}</strong>${side.dataVerified === false ? html` <span class="warn-tag" title="The event's digest is not a hash of this data, so the data is only what the log claims">data unverified</span>` : null}</div>
    <${Digest} hex=${side.digest} />
    ${side.data !== undefined ? html`<${DecodedData} data=${side.data} />` : null}
  </td>`;
}

/** One row per changed event: PCR, component, event type, and the event before and after. */
export function ChangesTable({ changes, caption }) {
  if (!changes || changes.length === 0) return null;
  return html`<div class="table-wrap"><table class="changes">
    <caption>${caption}</caption>
    <thead><tr>
      <th scope="col">PCR</th><th scope="col">Component</th><th scope="col">Event</th><th scope="col">Change</th>
      <th scope="col">Before (last passing boot)</th><th scope="col">After (latest boot)</th>
    </tr></thead>
    <tbody>${changes.map(
      (c) => html`<tr class=${`change-${c.change}`} data-pcr=${c.pcr}>
        <td class="num">${c.pcr}</td>
        <td>${c.component ?? '—'}</td>
        <td><code>${c.eventType ?? '—'}</code></td>
        <td><span class=${`change-tag change-tag-${c.change}`}>${CHANGE_LABEL[c.change] ?? c.change}</span></td>
        <${EventSide} side=${c.before} label="last passing" />
        <${EventSide} side=${c.after} label="latest" />
      </tr>`,
    )}</tbody>
  </table></div>`;
}

/** The failures of one appraisal: what rule failed, where, expected and actual. */
export function FailuresTable({ failures, caption }) {
  if (!failures || failures.length === 0) return html`<p class="muted">No failures.</p>`;
  return html`<div class="table-wrap"><table class="failures">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">Code</th><th scope="col">What</th><th scope="col">PCR</th><th scope="col">Event</th><th scope="col">Expected</th><th scope="col">Actual</th></tr></thead>
    <tbody>${failures.map(
      (f) => html`<tr>
        <td><code>${f.code}</code></td>
        <td>${f.message}</td>
        <td class="num">${f.pcr ?? ''}</td>
        <td>${f.eventIndex !== undefined ? `#${f.eventIndex} ` : ''}${f.eventType ? html`<code>${f.eventType}</code>` : ''}</td>
        <td class="value">${valueText(f.expected)}</td>
        <td class="value">${valueText(f.actual)}</td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}
