// Follows the trust-event feed (GET /v1/events long-poll): the recent history for the timeline,
// then every new event as it happens, so a host that turns untrusted turns red without a reload.
import { ApiError, apiPath } from './api.js';

const PAGE = 1000;
/** The timeline keeps at most this many events of its window; beyond it the chart says so. */
const MAX_WINDOW_EVENTS = 100_000;
const POLL_TIMEOUT_S = 25;

async function firstAfter(api, seq) {
  const r = await api.get(apiPath('/v1/events', { after: seq, limit: 1, timeout: 0 }));
  return r.events?.[0];
}

/**
 * The `after` cursor at which events of the last `windowMs` begin. Events are in seq order and
 * their times grow with it, so a doubling search then a binary search finds it in about
 * 2·log2(events) one-event reads, instead of reading the whole history.
 */
export async function windowStart(api, sinceMs) {
  const isOld = (e) => e !== undefined && Date.parse(e.at) < sinceMs;
  let lo = 0;
  if (!isOld(await firstAfter(api, 0))) return 0;
  let hi = PAGE;
  while (isOld(await firstAfter(api, hi))) {
    lo = hi;
    hi *= 2;
  }
  // Invariant: the event after lo is old; the event after hi is recent or absent.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (isOld(await firstAfter(api, mid))) lo = mid;
    else hi = mid;
  }
  return hi;
}

export class EventFollower {
  /**
   * onHistory(events, {truncated}): the window's events, once; onEvents(events): each new batch (awaited);
   * onStatus('live' | 'reconnecting', error?).
   */
  constructor(api, { windowMs, onHistory, onEvents, onStatus }) {
    this.api = api;
    this.windowMs = windowMs;
    this.onHistory = onHistory;
    this.onEvents = onEvents;
    this.onStatus = onStatus;
    this.aborter = new AbortController();
  }

  stop() {
    this.aborter.abort();
  }

  get stopped() {
    return this.aborter.signal.aborted;
  }

  async start() {
    let after = await windowStart(this.api, Date.now() - this.windowMs);
    const history = [];
    let truncated = false;
    for (;;) {
      const r = await this.api.get(apiPath('/v1/events', { after, limit: PAGE, timeout: 0 }), this.aborter.signal);
      history.push(...r.events);
      after = r.lastSeq;
      if (r.events.length < PAGE) break;
      if (history.length >= MAX_WINDOW_EVENTS) {
        truncated = true;
        break;
      }
    }
    if (this.stopped) return;
    this.onHistory(history, { truncated });
    this.onStatus('live');
    void this.follow(after);
  }

  async follow(after) {
    let failures = 0;
    while (!this.stopped) {
      try {
        const r = await this.api.get(apiPath('/v1/events', { after, limit: PAGE, timeout: POLL_TIMEOUT_S }), this.aborter.signal);
        if (failures > 0) this.onStatus('live');
        failures = 0;
        after = r.lastSeq;
        // One batch at a time: a later batch never lands under an earlier one's re-read.
        if (r.events.length > 0) await this.onEvents(r.events);
      } catch (err) {
        if (this.stopped || err?.name === 'AbortError') return;
        // A refused key stops following: the page asks for a key again.
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
          this.onStatus('stopped', err);
          return;
        }
        failures += 1;
        this.onStatus('reconnecting', err);
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** Math.min(failures, 5))));
      }
    }
  }
}
