// The dashboard's shell: the API key, the route (#/, #/hosts/ID, #/drift, #/census/NAME), the fleet
// snapshot kept current by the trust-event feed, and focus and announcements for screen readers.
import { html, render, Component, createRef } from './html.js';
import { Api, ApiError, fetchAllHosts, roleOf, seg } from './api.js';
import { EventFollower } from './live.js';
import { WINDOWS } from './timeline.js';
import { FleetView } from './fleet.js';
import { HostView } from './host.js';
import { DriftView, CensusView } from './drift.js';
import { ErrorNote, plural } from './format.js';

const KEY_STORAGE = 'bootgate.apiKey';
const TICK_MS = 30_000;
/** A batch of events naming more hosts than this re-reads the whole list (a few pages) instead. */
const REREAD_ALL_ABOVE = 200;
const REREAD_CONCURRENCY = 6;

export function parseRoute(hash) {
  const path = hash.replace(/^#/, '') || '/';
  let m;
  if ((m = /^\/hosts\/([^/]+)$/.exec(path))) return { view: 'host', hostId: decodeURIComponent(m[1]) };
  if (path === '/drift') return { view: 'drift' };
  if ((m = /^\/census\/([^/]+)$/.exec(path))) return { view: 'census', name: decodeURIComponent(m[1]) };
  return { view: 'fleet' };
}

class Login extends Component {
  state = { key: '', busy: false };
  inputRef = createRef();

  componentDidMount() {
    this.inputRef.current?.focus();
  }

  async submit(e) {
    e.preventDefault();
    this.setState({ busy: true });
    await this.props.onKey(this.state.key.trim());
    this.setState({ busy: false });
    this.inputRef.current?.focus();
  }

  render({ error }, { key, busy }) {
    return html`<main id="main" class="login">
      <h1>bootgate fleet dashboard</h1>
      <form onSubmit=${(e) => this.submit(e)}>
        <label for="api-key">API key</label>
        <input id="api-key" ref=${this.inputRef} type="password" autocomplete="off" spellcheck="false" required value=${key}
          onInput=${(e) => this.setState({ key: e.currentTarget.value })} aria-describedby="key-help" />
        <p id="key-help" class="muted">An admin or scheduler key (BOOTGATE_API_KEYS, or the generated admin.key in the data directory).
          It is kept in this tab only (sessionStorage) and sent to this verifier alone.</p>
        <${ErrorNote} error=${error} />
        <button type="submit" class="primary" disabled=${busy || !key.trim()}>${busy ? 'Checking…' : 'Open the dashboard'}</button>
      </form>
    </main>`;
  }
}

class App extends Component {
  state = {
    key: sessionStorage.getItem(KEY_STORAGE),
    role: null,
    authError: null,
    route: parseRoute(location.hash),
    hosts: new Map(),
    hostsLoaded: false,
    hostsError: null,
    events: [],
    eventsLoaded: false,
    truncated: false,
    window: 'day',
    live: 'connecting',
    liveError: null,
    announcement: '',
    refresh: 0,
    hostRefresh: {},
    filter: { state: 'all', query: '', profile: 'all', page: 0 },
    now: Date.now(),
  };

  mainRef = createRef();

  componentDidMount() {
    this.onHash = () => this.setState({ route: parseRoute(location.hash) }, () => this.focusMain());
    window.addEventListener('hashchange', this.onHash);
    this.ticker = setInterval(() => this.setState({ now: Date.now() }), TICK_MS);
    if (this.state.key) void this.open(this.state.key);
  }

  componentWillUnmount() {
    window.removeEventListener('hashchange', this.onHash);
    clearInterval(this.ticker);
    this.follower?.stop();
  }

  /** After navigation, focus the new view's heading so a screen reader reads where it is. */
  focusMain() {
    const h = this.mainRef.current?.querySelector('h1');
    if (h) h.focus();
    else this.mainRef.current?.focus();
  }

  api(key) {
    return new Api(key, (err) => this.signOut(err));
  }

  /** Checks the key against the API (the fleet list needs scheduler or admin), then opens the dashboard. */
  async open(key) {
    const api = this.api(key);
    let role;
    let hosts;
    let hostsError = null;
    try {
      role = await roleOf(api);
      hosts = await fetchAllHosts(api);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        sessionStorage.removeItem(KEY_STORAGE);
        this.setState({ key: null, authError: err });
        return;
      }
      // The verifier answered something else (or nothing): open anyway and say what failed.
      hostsError = err;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    this.apiClient = api;
    this.setState(
      { key, role: role ?? 'scheduler', authError: null, hosts: new Map((hosts ?? []).map((h) => [h.hostId, h])), hostsLoaded: true, hostsError, now: Date.now() },
      () => this.focusMain(),
    );
    this.follow();
  }

  signOut(err = null) {
    this.follower?.stop();
    this.follower = undefined;
    sessionStorage.removeItem(KEY_STORAGE);
    this.setState({ key: null, role: null, authError: err, hosts: new Map(), hostsLoaded: false, events: [], eventsLoaded: false });
  }

  follow() {
    this.follower?.stop();
    const follower = new EventFollower(this.apiClient, {
      windowMs: WINDOWS[this.state.window].ms,
      onHistory: (events, { truncated }) => this.setState({ events, eventsLoaded: true, truncated }),
      onEvents: (events) => this.onEvents(events),
      onStatus: (live, err) => this.setState({ live, liveError: err ?? null }),
    });
    this.follower = follower;
    follower.start().catch((err) => {
      if (follower === this.follower) this.setState({ live: 'stopped', liveError: err, eventsLoaded: true });
    });
  }

  /** New trust events: re-read each host they name, and tell the open view to refresh. */
  async onEvents(events) {
    const cutoff = Date.now() - WINDOWS[this.state.window].ms;
    this.setState({ events: [...this.state.events.filter((e) => Date.parse(e.at) >= cutoff), ...events] });
    const ids = [...new Set(events.map((e) => e.hostId))];
    const hosts = await this.reread(ids);
    const hostRefresh = { ...this.state.hostRefresh };
    for (const id of ids) hostRefresh[id] = (hostRefresh[id] ?? 0) + 1;
    const changed = events.filter((e) => e.kind === 'trusted' || e.kind === 'untrusted' || e.kind === 'revoked');
    const said = changed.slice(-3).map((e) => `${e.hostId} turned ${e.kind === 'revoked' ? 'untrusted (revoked)' : e.kind}`);
    const announcement = said.length ? `${said.join('; ')}${changed.length > 3 ? `; and ${plural(changed.length - 3, 'more change')}` : ''}.` : this.state.announcement;
    this.setState({ hosts, hostRefresh, refresh: this.state.refresh + 1, announcement, now: Date.now() });
  }

  /** The hosts after re-reading `ids`: one by one, a few at a time, or the whole list when many changed at once. */
  async reread(ids) {
    if (ids.length > REREAD_ALL_ABOVE) {
      try {
        return new Map((await fetchAllHosts(this.apiClient)).map((h) => [h.hostId, h]));
      } catch {
        return this.state.hosts;
      }
    }
    const hosts = new Map(this.state.hosts);
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          hosts.set(id, await this.apiClient.get(`/v1/hosts/${seg(id)}`));
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) hosts.delete(id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(REREAD_CONCURRENCY, queue.length) }, worker));
    return hosts;
  }

  setWindow(window) {
    this.setState({ window, eventsLoaded: false }, () => this.follow());
  }

  renderView() {
    const { route, role, hosts, hostsLoaded, events, eventsLoaded, truncated, window, filter, now, refresh, hostRefresh } = this.state;
    const api = this.apiClient;
    switch (route.view) {
      case 'host':
        return html`<${HostView} api=${api} hostId=${route.hostId} refresh=${hostRefresh[route.hostId] ?? 0} now=${now} />`;
      case 'drift':
        return html`<${DriftView} api=${api} role=${role} refresh=${refresh} />`;
      case 'census':
        return html`<${CensusView} api=${api} name=${route.name} refresh=${refresh} />`;
      default:
        return html`<h1 tabindex="-1">Fleet</h1>
          <${FleetView} hosts=${hosts} loaded=${hostsLoaded} events=${events} eventsLoaded=${eventsLoaded} truncated=${truncated}
            window=${window} onWindow=${(w) => this.setWindow(w)} filter=${filter} now=${now}
            onFilter=${(f) => this.setState({ filter: { ...this.state.filter, ...f } })} />`;
    }
  }

  render(_props, { key, role, authError, route, live, liveError, announcement, hostsError }) {
    if (!key) return html`<${Login} error=${authError} onKey=${(k) => this.open(k)} />`;
    if (!this.apiClient) return html`<main id="main" class="login"><p aria-busy="true">Opening the dashboard…</p></main>`;
    const current = (view) => (route.view === view || (view === 'drift' && route.view === 'census') ? 'page' : undefined);
    return html`
      <a class="skip" href="#main" onClick=${(e) => (e.preventDefault(), this.focusMain())}>Skip to content</a>
      <header class="top">
        <span class="brand">bootgate</span>
        <nav aria-label="Views">
          <a href="#/" aria-current=${current('fleet')}>Fleet</a>
          <a href="#/drift" aria-current=${current('drift')}>Drift</a>
        </nav>
        <span class=${`live live-${live}`} title=${liveError ? liveError.message : ''}>${{ live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', stopped: 'Not live' }[live]}</span>
        <span class="role">${role === 'admin' ? 'admin key' : 'scheduler key (read only)'}</span>
        <button type="button" onClick=${() => this.signOut()}>Sign out</button>
      </header>
      <div class="visually-hidden" role="status" aria-live="polite">${announcement}</div>
      <main id="main" ref=${this.mainRef} tabindex="-1">
        ${live === 'stopped' && liveError ? html`<${ErrorNote} error=${liveError} />` : null}
        <${ErrorNote} error=${hostsError} />
        ${this.renderView()}
      </main>`;
  }
}

render(html`<${App} />`, document.getElementById('app'));
