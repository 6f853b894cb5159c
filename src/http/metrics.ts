/** Prometheus metrics, one registry per app so several services in one process never collide. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TRUST_STATUSES, type TrustStatus } from '../attestation/trust.ts';

export class Metrics {
  readonly registry = new Registry();
  readonly appraisals: Counter<'verdict'>;
  readonly appraisalFailures: Counter<'code'>;
  readonly appraisalDuration: Histogram<'verdict'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly storeSyncDuration: Histogram;
  readonly logCache: Counter<'result'>;
  readonly releases: Counter<'outcome' | 'code'>;
  private countHosts: (() => Promise<Record<TrustStatus, number>>) | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.appraisals = new Counter({
      name: 'bootgate_appraisals_total',
      help: 'Appraisals recorded, by verdict',
      labelNames: ['verdict'],
      registers,
    });
    this.appraisalFailures = new Counter({
      name: 'bootgate_appraisal_failures_total',
      help: 'Failures reported by appraisals, by failure code',
      labelNames: ['code'],
      registers,
    });
    this.appraisalDuration = new Histogram({
      name: 'bootgate_appraisal_duration_seconds',
      help: 'Time to appraise evidence and record the result, by verdict',
      labelNames: ['verdict'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'bootgate_http_request_duration_seconds',
      help: 'HTTP request latency, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.logCache = new Counter({
      name: 'bootgate_log_cache_total',
      help: 'Appraised event logs whose parse, replay and consistency check were reused (hit) or computed (miss)',
      labelNames: ['result'],
      registers,
    });
    // The disk's fsync latency bounds every write's answer: the first thing to look at when writes slow down.
    this.storeSyncDuration = new Histogram({
      name: 'bootgate_store_fsync_duration_seconds',
      help: 'Time of each fsync that makes committed writes durable (one covers many writes)',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.releases = new Counter({
      name: 'bootgate_releases_total',
      help: 'Key release requests, by outcome (released, refused) and code (released, or the refusal code)',
      labelNames: ['outcome', 'code'],
      registers,
    });
    // Counted at scrape time from the store, so every replica reports the whole fleet.
    const metrics = this;
    new Gauge({
      name: 'bootgate_hosts',
      help: 'Enrolled hosts by trust status (trusted, untrusted, unknown, expired)',
      labelNames: ['trust'],
      registers,
      async collect() {
        if (!metrics.countHosts) return;
        const counts = await metrics.countHosts();
        for (const trust of TRUST_STATUSES) this.set({ trust }, counts[trust]);
      },
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'bootgate_' });
  }

  /** Where bootgate_hosts reads its counts from at each scrape. */
  countHostsWith(count: () => Promise<Record<TrustStatus, number>>): void {
    this.countHosts = count;
  }
}
