// One host: its trust, enrollment and AK; what changed since its last good boot; the failures of
// its latest appraisal; its appraisal history.
import { html } from './html.js';
import { LoadingView } from './view.js';
import { apiPath, seg } from './api.js';
import { ErrorNote, StateBadge, Time, VerdictBadge, absoluteTime, plural, stateOf } from './format.js';
import { ChangesTable, FailuresTable } from './changes.js';

const HISTORY_PAGE = 25;

function Summary({ host, state }) {
  const t = host.trust ?? {};
  const codes = (t.failures ?? []).map((f) => f.code);
  const text = {
    trusted: `Trusted: its latest appraisal passed${t.profile ? ` on ${t.profile}` : ''}.`,
    untrusted: `Untrusted: its latest appraisal failed${codes.length ? ` with ${codes.join(', ')}` : ''}.`,
    expired: 'Expired: its last passing appraisal is older than the token lifetime; it has not attested since.',
    unknown: 'Unknown: enrolled, but never appraised.',
  }[state];
  return html`<p class="summary">${text}</p>`;
}

function Changes({ changes, state, error }) {
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (changes === undefined) return html`<p aria-busy="true">Comparing boots…</p>`;
  if (changes.to === null) return html`<p class="muted">Nothing to compare: no appraisal yet.</p>`;
  if (changes.from === null) {
    if (changes.changes.length === 0) return html`<p class="muted">No passing appraisal to compare with: this host has never passed.</p>`;
    return html`<p>This host has never passed, so there is no earlier boot to compare with; these are the events its latest appraisal refused.</p>
      <${ChangesTable} changes=${changes.changes} caption=${`${plural(changes.changes.length, 'event')} refused in appraisal ${changes.to}`} />`;
  }
  if (changes.changes.length === 0) {
    return html`<p class="muted">${state === 'untrusted' ? 'The boot is the same as the last passing one: something else failed (the quote, the clock or the nonce; see the failures).' : 'Nothing changed since the last passing boot.'}</p>`;
  }
  return html`<${ChangesTable} changes=${changes.changes} caption=${`${plural(changes.changes.length, 'event')} changed between appraisal ${changes.from} (last pass) and ${changes.to} (latest)`} />`;
}

function History({ appraisals, next, onMore }) {
  if (appraisals.length === 0) return html`<p class="muted">No appraisal yet.</p>`;
  return html`<div class="table-wrap"><table class="history">
      <caption class="visually-hidden">Appraisals, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Verdict</th><th scope="col">Profile</th><th scope="col">Failures</th><th scope="col">Appraisal</th></tr></thead>
      <tbody>${appraisals.map(
        (a) => html`<tr key=${a.appraisalId} class=${`verdict-${a.verdict}`}>
          <td><time datetime=${a.appraisedAt}>${absoluteTime(a.appraisedAt)}</time></td>
          <td><${VerdictBadge} verdict=${a.verdict} /></td>
          <td>${a.profile ?? '—'}</td>
          <td>${(a.failures ?? []).map((f) => f.code).join(', ')}</td>
          <td><code>${a.appraisalId}</code></td>
        </tr>`,
      )}</tbody>
    </table></div>
    ${next ? html`<button type="button" onClick=${onMore}>Older appraisals</button>` : null}`;
}

export class HostView extends LoadingView {
  static identity = ['hostId'];
  state = { host: undefined, appraisals: [], next: null, changes: undefined, changesError: null, error: null, historyError: null };

  async load() {
    const { api, hostId } = this.props;
    const base = `/v1/hosts/${seg(hostId)}`;
    let host;
    try {
      host = await api.get(base);
    } catch (err) {
      if (this.props.hostId === hostId) this.setState({ host: null, error: err, appraisals: [], next: null, changes: undefined });
      return;
    }
    // A host never appraised has no history and nothing to compare: no need to ask.
    const appraised = host.trust?.appraisalId != null;
    const [history, changes] = appraised
      ? await Promise.allSettled([api.get(apiPath(`${base}/appraisals`, { limit: HISTORY_PAGE })), api.get(`${base}/changes`)])
      : [{ status: 'fulfilled', value: { appraisals: [], next: null } }, { status: 'fulfilled', value: { from: null, to: null, changes: [] } }];
    if (this.props.hostId !== hostId) return;
    // A failing host with a changed boot: is it one of many (a rollout) or on its own?
    let group = null;
    if (host.trust?.status === 'untrusted' && changes.status === 'fulfilled' && changes.value.changes?.length > 0) {
      try {
        group = (await api.get('/v1/drift')).groups.find((g) => g.hosts.includes(hostId)) ?? null;
      } catch {
        group = null;
      }
    }
    if (this.props.hostId !== hostId) return;
    this.setState({
      group,
      host,
      error: null,
      appraisals: history.status === 'fulfilled' ? history.value.appraisals : [],
      next: history.status === 'fulfilled' ? history.value.next : null,
      historyError: history.status === 'rejected' ? history.reason : null,
      changes: changes.status === 'fulfilled' ? changes.value : null,
      changesError: changes.status === 'rejected' ? changes.reason : null,
    });
  }

  async more() {
    const { api, hostId } = this.props;
    try {
      const page = await api.get(apiPath(`/v1/hosts/${seg(hostId)}/appraisals`, { limit: HISTORY_PAGE, before: this.state.next }));
      this.setState({ appraisals: [...this.state.appraisals, ...page.appraisals], next: page.next });
    } catch (err) {
      this.setState({ historyError: err });
    }
  }

  render({ hostId, now }, { host, appraisals, next, changes, changesError, error, historyError, group }) {
    const state = host ? stateOf(host, now) : 'unknown';
    return html`<div class="host-view" data-state=${host ? state : ''}>
      <h1 tabindex="-1">Host <span class="host-id">${hostId}</span> ${host ? html`<${StateBadge} state=${state} />` : null}</h1>
      <p><a href="#/">← Fleet</a></p>
      <${ErrorNote} error=${error} />
      ${host === undefined ? html`<p aria-busy="true">Loading…</p>` : null}
      ${host
        ? html`
        <${Summary} host=${host} state=${state} />
        <div class="two-col">
          <section class="panel" aria-labelledby="trust-h"><h2 id="trust-h">Trust</h2>
            <dl class="facts">
              <dt>State</dt><dd><${StateBadge} state=${state} /></dd>
              <dt>Last appraisal</dt><dd><${Time} iso=${host.trust.appraisedAt} /> ${host.trust.appraisalId ? html`<code>${host.trust.appraisalId}</code>` : null}</dd>
              <dt>Decided by profile</dt><dd>${host.trust.profile ?? '—'}</dd>
              <dt>Trust expires</dt><dd><${Time} iso=${host.trust.expiresAt} /></dd>
              ${host.revokedAt ? html`<dt>Revoked</dt><dd><${Time} iso=${host.revokedAt} /></dd>` : null}
            </dl>
          </section>
          <section class="panel" aria-labelledby="enroll-h"><h2 id="enroll-h">Enrollment and AK</h2>
            <dl class="facts">
              <dt>Enrolled</dt><dd><${Time} iso=${host.enrolledAt} /></dd>
              <dt>Profiles</dt><dd>${host.profiles.length ? host.profiles.join(', ') : html`<span class="muted">none assigned</span>`}</dd>
              <dt>AK name</dt><dd><code class="digest">${host.akName}</code></dd>
            </dl>
          </section>
        </div>
        <section class="panel" aria-labelledby="changes-h"><h2 id="changes-h">What changed since the last good boot</h2>
          <${Changes} changes=${changes} state=${state} error=${changesError} />
          ${group ? html`<p class="shared">${group.count > 1 ? `${plural(group.count - 1, 'other host')} failed with exactly this change (${group.profile}).` : 'No other host failed with this change.'}${' '}<a href="#/drift">See it on the drift page</a>.</p>` : null}
        </section>
        <section class="panel" aria-labelledby="failures-h"><h2 id="failures-h">Failures of the latest appraisal</h2>
          <${FailuresTable} failures=${host.trust.failures} caption="Why the latest appraisal failed" />
        </section>`
        : null}
      <section class="panel" aria-labelledby="history-h"><h2 id="history-h">Appraisal history</h2>
        <${ErrorNote} error=${historyError} />
        <${History} appraisals=${appraisals} next=${next} onMore=${() => this.more()} />
      </section>
    </div>`;
  }
}
