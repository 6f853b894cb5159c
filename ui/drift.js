// Fleet drift (contract §6): failing hosts grouped by identical change set, largest first; for
// admins, accepting a group writes the next profile version. And a profile's census.
import { html, Component, createRef } from './html.js';
import { seg } from './api.js';
import { ErrorNote, Time, plural } from './format.js';
import { ChangesTable } from './changes.js';
import { LoadingView } from './view.js';
import { Acceptances } from './acceptances.js';
import { hostLink } from './fleet.js';

const HOSTS_SHOWN = 24;
const profileName = (p) => (typeof p === 'string' ? p.replace(/@[^@]*$/, '') : '');
export const censusLink = (name) => `#/census/${encodeURIComponent(name)}`;

class AcceptForm extends Component {
  state = { open: false, note: '', busy: false, error: null };
  noteRef = createRef();
  openRef = createRef();

  async submit(e) {
    e.preventDefault();
    const note = this.state.note.trim();
    if (!note) return;
    this.setState({ busy: true, error: null });
    try {
      const r = await this.props.api.post(`/v1/drift/${seg(this.props.group.groupId)}/accept`, { note });
      this.setState({ busy: false, open: false, note: '' });
      this.props.onAccepted(r);
    } catch (err) {
      this.setState({ busy: false, error: err });
    }
  }

  componentDidUpdate(_prev, prevState) {
    if (this.state.open && !prevState.open) this.noteRef.current?.focus();
    if (!this.state.open && prevState.open && !this.props.accepted) this.openRef.current?.focus();
  }

  render({ group, role }, { open, note, busy, error }) {
    if (role !== 'admin') {
      const id = `role-${group.groupId}`;
      return html`<p class="muted role-note"><button type="button" disabled aria-describedby=${id}>Accept this change</button>${' '}
        <span id=${id}>Accepting needs an admin key; this key has the scheduler role, so it can see drift but not accept it.</span></p>`;
    }
    if (!open) return html`<button type="button" ref=${this.openRef} class="primary" onClick=${() => this.setState({ open: true })}>Accept this change…</button>`;
    const id = `note-${group.groupId}`;
    return html`<form class="accept" onSubmit=${(e) => this.submit(e)}>
      <label for=${id}>Why is this change legitimate? The note is recorded with your key.</label>
      <textarea id=${id} ref=${this.noteRef} required rows="3" maxlength="2000" value=${note} onInput=${(e) => this.setState({ note: e.currentTarget.value })}></textarea>
      <p class="muted">This writes the next version of ${profileName(group.profile)} that also allows the new values above, keeping the old ones.</p>
      <${ErrorNote} error=${error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled=${busy || !note.trim()}>${busy ? 'Accepting…' : `Accept for ${plural(group.count, 'host')}`}</button>
        <button type="button" onClick=${() => this.setState({ open: false, error: null })}>Cancel</button>
      </div>
    </form>`;
  }
}

class Accepted extends Component {
  ref = createRef();
  componentDidMount() {
    this.ref.current?.focus();
  }
  render({ result, group }) {
    return html`<div class="accepted" role="status" tabindex="-1" ref=${this.ref}>
      <strong>Accepted.</strong> bootgate wrote profile <strong class="profile-version">${result.profile}</strong>,${' '}
      which allows ${plural(result.accepted?.length ?? 0, 'new value')} alongside the old ones.${' '}
      The ${plural(group.count, 'host')} of this group pass at their next attestation and then turn trusted here.
    </div>`;
  }
}

/** "bootloader modified", "option_rom added, firmware modified", or a count when there are many. */
function summary(changes) {
  const parts = [...new Set(changes.map((c) => `${c.component} ${c.change}`))];
  return parts.length <= 3 ? parts.join(', ') : plural(changes.length, 'change');
}

function Group({ group, api, role, accepted, onAccepted }) {
  const more = group.hosts.length - HOSTS_SHOWN;
  const headingId = `group-${group.groupId}`;
  return html`<article class="panel group" aria-labelledby=${headingId} data-group=${group.groupId}>
    <h2 id=${headingId}>${plural(group.count, 'host')} · ${summary(group.changes)} · ${group.profile}</h2>
    <p class="muted">First seen <${Time} iso=${group.firstSeen} />, last seen <${Time} iso=${group.lastSeen} />. Group <code>${group.groupId}</code>.${' '}
      <a href=${censusLink(profileName(group.profile))}>Census of ${profileName(group.profile)}</a></p>
    <ul class="host-chips" aria-label="Hosts in this group">
      ${group.hosts.slice(0, HOSTS_SHOWN).map((id) => html`<li><a href=${hostLink(id)}>${id}</a></li>`)}
      ${more > 0 ? html`<li class="muted">and ${more} more</li>` : null}
    </ul>
    <${ChangesTable} changes=${group.changes} caption="The change set these hosts share" />
    ${accepted ? html`<${Accepted} result=${accepted} group=${group} />` : html`<${AcceptForm} group=${group} api=${api} role=${role} onAccepted=${onAccepted} />`}
  </article>`;
}

export class DriftView extends LoadingView {
  state = { groups: undefined, error: null, accepted: {} };

  async load() {
    const { api, role } = this.props;
    const [drift, audit] = await Promise.allSettled([api.get('/v1/drift'), role === 'admin' ? api.get('/v1/drift/acceptances') : Promise.resolve(null)]);
    this.setState({
      groups: drift.status === 'fulfilled' ? drift.value.groups : this.state.groups,
      acceptances: audit.status === 'fulfilled' ? audit.value?.acceptances : this.state.acceptances,
      error: drift.status === 'rejected' ? drift.reason : audit.status === 'rejected' ? audit.reason : null,
    });
  }

  render({ api, role }, { groups, error, accepted, acceptances }) {
    return html`<div>
      <h1 tabindex="-1">Drift</h1>
      <p class="lede">Hosts whose latest appraisal failed, grouped by the same change since their last good boot, the largest group first.
        Many hosts with one change are usually a rollout; a group of one is an odd host.</p>
      <${ErrorNote} error=${error} />
      ${groups === undefined && !error ? html`<p aria-busy="true">Loading…</p>` : null}
      ${groups && groups.length === 0 ? html`<p>No drift: no host fails with a changed boot.</p>` : null}
      ${(groups ?? []).map(
        (g) => html`<${Group} key=${g.groupId} group=${g} api=${api} role=${role} accepted=${accepted[g.groupId]}
          onAccepted=${(r) => {
            this.setState({ accepted: { ...this.state.accepted, [g.groupId]: r } });
            void this.load();
          }} />`,
      )}
      <${Acceptances} acceptances=${acceptances} />
    </div>`;
  }
}

export class CensusView extends LoadingView {
  static identity = ['name'];
  state = { census: undefined, error: null };

  async load() {
    const { api, name } = this.props;
    try {
      const census = await api.get(`/v1/golden/${seg(name)}/census`);
      if (name === this.props.name) this.setState({ census, error: null });
    } catch (err) {
      this.setState({ error: err, census: null });
    }
  }

  render({ name }, { census, error }) {
    return html`<div>
      <h1 tabindex="-1">Census of ${census?.profile ?? name}</h1>
      <p class="lede">For each value the profile allows, how many hosts last passed with it. A value no host uses any more can be retired in the next version.</p>
      <p><a href="#/drift">← Drift</a></p>
      <${ErrorNote} error=${error} />
      ${census === undefined ? html`<p aria-busy="true">Loading…</p>` : null}
      ${census && typeof census.hosts === 'number'
        ? html`<p>${plural(census.hosts, 'host')} last passed on this profile.${
            census.unknown?.length ? ` The boot of ${plural(census.unknown.length, 'host')} is no longer kept, so their values are not counted: ${census.unknown.slice(0, HOSTS_SHOWN).join(', ')}.` : ''
          }</p>`
        : null}
      ${census
        ? html`<div class="table-wrap"><table class="census">
          <caption class="visually-hidden">Allowed values and the hosts that use them</caption>
          <thead><tr><th scope="col">PCR</th><th scope="col">Component</th><th scope="col">Allowed value</th><th scope="col">Hosts</th><th scope="col">Which</th></tr></thead>
          <tbody>${census.components.flatMap((c) =>
            c.values.map(
              (v, i) => html`<tr class=${v.hosts === 0 ? 'unused' : ''}>
                ${i === 0 ? html`<td class="num" rowspan=${c.values.length}>${c.pcr}</td><th scope="rowgroup" rowspan=${c.values.length}>${c.component}</th>` : null}
                <td>${v.digest !== undefined ? html`<code class="digest">${v.digest}</code>` : html`<span class="muted">text</span> <code>${v.text ?? ''}</code>`}</td>
                <td class="num">${v.hosts}${v.hosts === 0 ? html` <span class="warn-tag">unused</span>` : null}</td>
                <td>${v.hostIds.slice(0, HOSTS_SHOWN).map((id, j) => html`${j ? ', ' : ''}<a href=${hostLink(id)}>${id}</a>`)}${v.hostIds.length > HOSTS_SHOWN ? ` and ${v.hostIds.length - HOSTS_SHOWN} more` : ''}</td>
              </tr>`,
            ),
          )}</tbody>
        </table></div>`
        : null}
    </div>`;
  }
}
