// The fleet: counts by trust state, the trust-change timeline, what failed lately, and the
// filterable, paged host list.
import { html } from './html.js';
import { STATES, STATE_LABEL, StateBadge, Time, plural, stateOf } from './format.js';
import { Timeline, WINDOWS } from './timeline.js';

export const PAGE_SIZE = 50;
const SEVERITY = Object.fromEntries(STATES.map((s, i) => [s, i]));

export const hostLink = (id) => `#/hosts/${encodeURIComponent(id)}`;

function profileOf(host) {
  return host.trust?.profile ?? (host.profiles?.length ? host.profiles.join(', ') : null);
}

/** The hosts the filter selects, problems first, then by id. */
export function selectHosts(hosts, filter, now) {
  const q = filter.query.trim().toLowerCase();
  return [...hosts.values()]
    .map((h) => ({ host: h, state: stateOf(h, now) }))
    .filter(({ host, state }) => (filter.state === 'all' || state === filter.state) && (q === '' || host.hostId.toLowerCase().includes(q)) && (filter.profile === 'all' || profileOf(host) === filter.profile))
    .sort((a, b) => SEVERITY[a.state] - SEVERITY[b.state] || (a.host.hostId < b.host.hostId ? -1 : a.host.hostId > b.host.hostId ? 1 : 0));
}

function Counts({ hosts, filter, onFilter, now }) {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const h of hosts.values()) counts[stateOf(h, now)] += 1;
  const tile = (state, label, n) => html`<li>
    <button type="button" class=${`tile tile-${state}`} aria-pressed=${filter.state === state ? 'true' : 'false'} data-state=${state}
      onClick=${() => onFilter({ state: filter.state === state ? 'all' : state, page: 0 })}>
      <span class="tile-count">${n}</span> <span class="tile-label">${label}</span>
    </button></li>`;
  return html`<ul class="tiles" aria-label="Hosts by trust state (select one to filter the list)">
    ${tile('all', 'hosts in all', hosts.size)}
    ${['trusted', 'untrusted', 'expired', 'unknown'].map((s) => tile(s, STATE_LABEL[s].toLowerCase(), counts[s]))}
  </ul>`;
}

function RecentFailures({ events }) {
  const fails = events.filter((e) => e.kind === 'untrusted').slice(-10).reverse();
  if (fails.length === 0) return html`<p class="muted">No host turned untrusted in this window.</p>`;
  return html`<ul class="recent">
    ${fails.map(
      (e) => html`<li><a href=${hostLink(e.hostId)}>${e.hostId}</a> turned untrusted <${Time} iso=${e.at} />${
        Array.isArray(e.detail?.codes) && e.detail.codes.length ? html`: <code>${e.detail.codes.join(', ')}</code>` : ''
      }</li>`,
    )}
  </ul>`;
}

function HostTable({ rows }) {
  return html`<div class="table-wrap"><table class="hosts">
    <caption class="visually-hidden">Hosts</caption>
    <thead><tr>
      <th scope="col">Host</th><th scope="col">State</th><th scope="col">Profile</th>
      <th scope="col">Last appraisal</th><th scope="col">Trust expires</th><th scope="col">Failures</th>
    </tr></thead>
    <tbody>${rows.map(
      ({ host, state }) => html`<tr key=${host.hostId} class=${`row-${state}`} data-host=${host.hostId} data-state=${state}>
        <th scope="row"><a href=${hostLink(host.hostId)}>${host.hostId}</a></th>
        <td><${StateBadge} state=${state} /></td>
        <td>${profileOf(host) ?? html`<span class="muted">none</span>`}</td>
        <td><${Time} iso=${host.trust?.appraisedAt} /></td>
        <td>${state === 'trusted' || state === 'expired' ? html`<${Time} iso=${host.trust?.expiresAt} />` : html`<span class="muted">—</span>`}</td>
        <td>${(host.trust?.failures ?? []).map((f) => f.code).filter(Boolean).join(', ')}</td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

export function FleetView({ hosts, loaded, events, eventsLoaded, truncated, window, onWindow, filter, onFilter, now }) {
  const profiles = [...new Set([...hosts.values()].map(profileOf).filter(Boolean))].sort();
  const rows = selectHosts(hosts, filter, now);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const page = Math.min(filter.page, pages - 1);
  const shown = rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  return html`
    <section aria-labelledby="counts-h">
      <h2 id="counts-h" class="visually-hidden">Trust states</h2>
      ${loaded ? html`<${Counts} hosts=${hosts} filter=${filter} onFilter=${onFilter} now=${now} />` : html`<p aria-busy="true">Loading the fleet…</p>`}
    </section>
    <div class="two-col">
      <section aria-labelledby="timeline-h" class="panel">
        <div class="panel-head">
          <h2 id="timeline-h">Passes and fails over time</h2>
          <label>Window <select value=${window} onChange=${(e) => onWindow(e.currentTarget.value)}>
            ${Object.entries(WINDOWS).map(([k, w]) => html`<option value=${k}>${w.label}</option>`)}
          </select></label>
        </div>
        ${eventsLoaded ? html`<${Timeline} events=${events} window=${window} truncated=${truncated} />` : html`<p aria-busy="true">Reading the trust events…</p>`}
      </section>
      <section aria-labelledby="recent-h" class="panel">
        <h2 id="recent-h">Turned untrusted lately</h2>
        <${RecentFailures} events=${events} />
      </section>
    </div>
    <section aria-labelledby="hosts-h" class="panel">
      <div class="panel-head"><h2 id="hosts-h">Hosts</h2></div>
      <form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
        <label>Host id contains <input type="search" value=${filter.query} onInput=${(e) => onFilter({ query: e.currentTarget.value, page: 0 })} /></label>
        <label>State <select value=${filter.state} onChange=${(e) => onFilter({ state: e.currentTarget.value, page: 0 })}>
          <option value="all">any</option>
          ${STATES.map((s) => html`<option value=${s}>${STATE_LABEL[s]}</option>`)}
        </select></label>
        <label>Profile <select value=${filter.profile} onChange=${(e) => onFilter({ profile: e.currentTarget.value, page: 0 })}>
          <option value="all">any</option>
          ${profiles.map((p) => html`<option value=${p}>${p}</option>`)}
        </select></label>
      </form>
      ${loaded && rows.length === 0 ? html`<p>No host matches.</p>` : html`<${HostTable} rows=${shown} />`}
      <nav class="pager" aria-label="Host list pages">
        <button type="button" disabled=${page === 0} onClick=${() => onFilter({ page: page - 1 })}>Previous</button>
        <span aria-live="polite">${rows.length === 0 ? '' : `${page * PAGE_SIZE + 1}–${page * PAGE_SIZE + shown.length} of ${plural(rows.length, 'host')}`}</span>
        <button type="button" disabled=${page >= pages - 1} onClick=${() => onFilter({ page: page + 1 })}>Next</button>
      </nav>
    </section>`;
}
