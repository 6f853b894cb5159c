// The audit trail of accepted drift (GET /v1/drift/acceptances, admins only): who accepted which
// change set, when, why, and which profile version it wrote.
import { html } from './html.js';
import { Time, plural } from './format.js';
import { hostLink } from './fleet.js';

const SHOWN = 20;

export function Acceptances({ acceptances }) {
  if (!acceptances) return null;
  const newest = [...acceptances].reverse().slice(0, SHOWN);
  return html`<section class="panel" aria-labelledby="acceptances-h">
    <h2 id="acceptances-h">Accepted changes</h2>
    ${newest.length === 0
      ? html`<p class="muted">No drift has been accepted yet.</p>`
      : html`<div class="table-wrap"><table class="acceptances">
          <caption class="visually-hidden">Accepted drift, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Profile written</th><th scope="col">Hosts</th><th scope="col">Changes</th><th scope="col">Note</th><th scope="col">By key</th></tr></thead>
          <tbody>${newest.map(
            (a) => html`<tr key=${a.acceptanceId}>
              <td><${Time} iso=${a.at} /></td>
              <td>${a.profileName}@${a.toVersion} <span class="muted">(from ${a.fromVersion})</span></td>
              <td>${plural(a.hostIds.length, 'host')}: ${a.hostIds.slice(0, 5).map((id, i) => html`${i ? ', ' : ''}<a href=${hostLink(id)}>${id}</a>`)}${a.hostIds.length > 5 ? '…' : ''}</td>
              <td>${(a.changes ?? []).map((c) => `PCR ${c.pcr} ${c.component} ${c.change}`).join('; ')}</td>
              <td class="note">${a.note}</td>
              <td><code>${a.keyId}</code></td>
            </tr>`,
          )}</tbody>
        </table></div>`}
    ${acceptances.length > SHOWN ? html`<p class="muted">The newest ${SHOWN} of ${acceptances.length}.</p>` : null}
  </section>`;
}
