/**
 * Composition root: configuration → store, signing keys, profiles, services, HTTP app → listening
 * server. startService() is what `bootgate serve` runs and what the tests start on a free port.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync } from 'node:fs';
import type { Express } from 'express';
import { pino, type Logger } from 'pino';
import type { ApiKeyConfig, Config } from './config.ts';
import { openStore } from './store/open.ts';
import { SigningKeyring } from './token/keys.ts';
import { ProfileCatalog } from './attestation/profiles.ts';
import { EnrollmentService } from './enrollment/service.ts';
import { AttestationService } from './attestation/service.ts';
import { HostService } from './attestation/hosts.ts';
import type { CoreDependencies } from './attestation/ports.ts';
import { coreDependencies } from './attestation/dependencies.ts';
import { AppraisalPool } from './attestation/appraisal-pool.ts';
import { ApiKeyring } from './http/auth.ts';
import { loadTlsMaterial } from './http/tls.ts';
import { Metrics } from './http/metrics.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { createApp } from './http/app.ts';
import type { AppContext } from './http/context.ts';
import { requireRole } from './http/auth.ts';
import { strictJsonBody } from './http/body.ts';
import type { Store } from './store/types.ts';
import { loadMasterKey } from './broker/master-key.ts';
import { createBrokerRouter } from './broker/routes.ts';
import { TrustEventHub } from './events/hub.ts';
import { withTrustEventNotifications } from './events/notifying-store.ts';
import { createEventsRouter } from './events/routes.ts';
import { WebhookRegistry } from './events/webhooks/registry.ts';
import { WebhookDispatcher } from './events/webhooks/dispatcher.ts';
import { EvidenceLogs } from './fleet/evidence.ts';
import { ChangeTracker } from './fleet/changes.ts';
import { DriftService } from './fleet/drift.ts';
import { CensusService } from './fleet/census.ts';
import { sharedAdminKey } from './admin-key.ts';

export { DATABASE_FILE } from './store/open.ts';
export { ADMIN_KEY_FILE } from './admin-key.ts';

export interface ServiceOptions {
  config: Config;
  /** Replaces the real core (tests only). */
  core?: CoreDependencies;
  logger?: Logger;
  now?: () => Date;
  /**
   * Worker threads running the appraisal pipeline, overriding BOOTGATE_APPRAISAL_WORKERS
   * (0 = on the event loop; negative = one per core but one). Ignored when `core` is given.
   */
  appraisalWorkers?: number;
  /** Stage timings of each stored appraisal (benchmarks). */
  onAppraised?: (timings: Readonly<Record<string, number>>) => void;
}

export interface RunningService {
  /** http://HOST:PORT (https:// with TLS) as actually bound. */
  url: string;
  port: number;
  /** The generated admin key's file when BOOTGATE_API_KEYS is unset. */
  adminKeyFile: string | undefined;
  adminKeyGenerated: boolean;
  /** Stops the webhook deliveries of this process (tests of another replica taking over). */
  dispatcher: WebhookDispatcher;
  /** The database itself (the routes use it wrapped with trust-event notifications). */
  store: Store;
  keyring: SigningKeyring;
  context: AppContext;
  app: Express;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes the database. */
  stop(graceMs?: number): Promise<void>;
}

function urlOf(scheme: 'http' | 'https', host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const PRUNE_INTERVAL_MS = 10 * 60 * 1000;
/** Expired nonces and enrollments are kept this long, so a late replay still reads as nonce_reused. */
const RETENTION_MS = 24 * 60 * 60 * 1000;

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config } = options;
  const now = options.now ?? (() => new Date());
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'bootgate' } }, pino.destination(2));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  // Before anything is opened: bad TLS files stop start-up with a message naming the variable.
  const tls = config.tls ? loadTlsMaterial(config.tls.certFile, config.tls.keyFile) : undefined;
  let core = options.core ?? coreDependencies(config.ekRoots);
  // Before the database: a bad master key must stop start-up without touching anything.
  const masterKey = loadMasterKey({ dataDir: config.dataDir, env: config.masterKey ? { BOOTGATE_MASTER_KEY: config.masterKey } : {} });
  const metrics = new Metrics({ defaultMetrics: true });
  const raw = await openStore({
    dataDir: config.dataDir,
    database: config.database,
    poolSize: config.databasePoolSize,
    onSync: (seconds) => metrics.storeSyncDuration.observe(seconds),
    onConnectionError: (err) => log.warn({ database: config.database?.target, error: err.message }, 'database connection lost; requests answer 503 until it is back'),
  });
  const workers = options.appraisalWorkers ?? config.appraisalWorkers;
  let pool: AppraisalPool | undefined;
  const hub = new TrustEventHub();
  // Every trust event appended in this process wakes long-polls and webhooks at once.
  const store: Store = withTrustEventNotifications(raw, hub);
  let server: Server | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  let unsubscribe: (() => void) | undefined;
  try {
    let apiKeys: ApiKeyConfig[];
    let adminKeyFile: string | undefined;
    let adminKeyGenerated = false;
    if (config.apiKeys) {
      apiKeys = config.apiKeys;
    } else {
      const admin = await sharedAdminKey(store, masterKey.key, config.dataDir);
      if (admin.replacedLocal) log.warn({ file: admin.file }, 'the admin key file held another key than the database; replaced by the one every replica accepts');
      apiKeys = [{ role: 'admin', key: admin.key }];
      adminKeyFile = admin.file;
      adminKeyGenerated = admin.generated;
    }
    pool = !options.core && workers !== 0 ? new AppraisalPool(workers, (err) => log.error({ err }, 'appraisal worker died')) : undefined;
    const appraisalPool = pool;
    if (appraisalPool) core = { ...core, appraise: (input) => appraisalPool.appraise(input) };
    const keyring = await SigningKeyring.open(store, { tokenTtlSeconds: config.tokenTtlSeconds, masterKey: masterKey.key, now: now() });
    const profiles = new ProfileCatalog(store, core, log);
    if (existsSync(config.goldenDir)) {
      const n = await profiles.loadFiles(config.goldenDir, now());
      log.info({ dir: config.goldenDir, profiles: n }, 'golden profiles loaded');
    } else {
      log.warn({ dir: config.goldenDir }, 'golden profile directory not found; only profiles stored through the API are available');
    }
    let issuer = config.issuer ?? '';
    let listeningUrl: string | undefined;
    const evidence = new EvidenceLogs(store);
    const changes = new ChangeTracker(store, profiles, evidence, log);
    const context: AppContext = {
      config,
      store,
      keyring,
      apiKeys: new ApiKeyring(apiKeys),
      profiles,
      enrollment: new EnrollmentService(store, core, profiles, config.enrollmentTtlSeconds),
      attestation: new AttestationService(
        store,
        core,
        profiles,
        keyring,
        metrics,
        {
          nonceTtlSeconds: config.nonceTtlSeconds,
          tokenTtlSeconds: config.tokenTtlSeconds,
          issuer: () => issuer,
          tokenFormat: config.tokenFormat,
          ...(options.onAppraised ? { onAppraised: options.onAppraised } : {}),
          driftEntry: (record, baseline) => changes.driftEntry(record, baseline),
        },
        log,
      ),
      hosts: new HostService(store, profiles),
      fleet: { changes, drift: new DriftService(store, profiles, evidence, log), census: new CensusService(store, profiles, evidence) },
      metrics,
      log,
      limiter: new RateLimiter(config.rateLimitPerMinute),
      now,
      serverUrl: () => listeningUrl,
    };
    // Counted in the store: a scrape reads no host row, however large the fleet.
    metrics.countHostsWith(() => store.countHostTrust(now()));
    const webhooks = await WebhookRegistry.open(store, masterKey.key, config.dataDir);
    const deliveries = new WebhookDispatcher(store, webhooks, {
      onDelivery: (r) => {
        if (!r.ok) log.warn({ webhook: r.webhookId, seq: r.seq, attempt: r.attempt, status: r.status, error: r.error }, 'webhook delivery failed');
      },
      onStoreError: (err) => log.warn({ error: err instanceof Error ? err.message : String(err) }, 'webhook outbox unavailable; retrying'),
    });
    dispatcher = deliveries;
    deliveries.attach(hub);
    // Changes other replicas commit: their trust events wake our long-polls, their key rotations,
    // profile versions and webhook deliveries are picked up here too.
    unsubscribe = raw.subscribe((c) => {
      if (c.kind === 'trust_event') hub.announce(c.seq);
      if (c.kind === 'signing_keys' || c.kind === 'resync') keyring.refresh().catch((err: unknown) => log.error({ err }, 'reloading signing keys failed'));
      if (c.kind === 'profiles' || c.kind === 'resync') profiles.invalidate();
      if (c.kind === 'webhook_delivery' || c.kind === 'resync') deliveries.poke();
    });
    const roleCheck = (...roles: Array<'admin' | 'scheduler' | 'broker'>) => requireRole(context.apiKeys, ...roles);
    const jsonBody = strictJsonBody(config.bodyLimitBytes);
    const extraRoutes = [
      createBrokerRouter({
        store,
        requireRole: roleCheck,
        // Fresh from the store: a token another replica signed with a key rotated a moment ago verifies here too.
        getVerificationKeys: async () => {
          await keyring.refresh();
          return keyring.jwks(now()).keys;
        },
        // Read at each token check: with port 0 the URL is known only once listening.
        get issuer() {
          return issuer;
        },
        masterKey: masterKey.key,
        trustOf: (hostId) => context.hosts.trustStatus(hostId, now()),
        onTrustEvent: (e) => hub.publish(e),
        onRelease: (outcome, code) => metrics.releases.inc({ outcome, code }),
        now,
        jsonBody,
      }),
      createEventsRouter({ store, hub, requireRole: roleCheck, webhooks, jsonBody }),
    ];
    const app = createApp(context, extraRoutes);
    const srv: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, app) : createServer(app);
    server = srv;
    // Slow clients must not pin connections forever.
    srv.requestTimeout = 30_000;
    srv.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(config.port, config.host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    const port = (srv.address() as AddressInfo).port;
    const url = urlOf(tls ? 'https' : 'http', config.host, port);
    listeningUrl = url;
    if (issuer === '') issuer = url;
    deliveries.start();

    pruneTimer = setInterval(() => {
      const before = new Date(now().getTime() - RETENTION_MS);
      const evidenceBefore = config.evidenceMaxAgeSeconds > 0 ? { before: new Date(now().getTime() - config.evidenceMaxAgeSeconds * 1000) } : {};
      Promise.all([
        store.pruneNonces(before),
        store.pruneEnrollments(before),
        store.pruneEvidence({ keepPerHost: config.evidenceKeepPerHost, ...evidenceBefore }),
        config.historyMaxAgeSeconds > 0
          ? store.pruneHistory(new Date(now().getTime() - config.historyMaxAgeSeconds * 1000)).then((n) => {
              // Trust decisions leave the audit record here: say how many, and up to when.
              if (n > 0) log.info({ appraisals: n, maxAgeSeconds: config.historyMaxAgeSeconds }, 'appraisal history pruned');
            })
          : undefined,
      ]).catch((err: unknown) => log.error({ err }, 'pruning failed'));
    }, PRUNE_INTERVAL_MS);
    pruneTimer.unref();

    let stopping: Promise<void> | undefined;
    const stop = (graceMs = 10_000): Promise<void> => {
      stopping ??= (async () => {
        clearInterval(pruneTimer);
        unsubscribe?.();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => srv.closeAllConnections(), graceMs);
          force.unref();
          srv.close(() => {
            clearTimeout(force);
            resolve();
          });
          srv.closeIdleConnections();
        });
        // After the last request: deliveries in flight finish and are recorded before the store closes.
        await deliveries.close();
        await pool?.close();
        await raw.close();
        log.flush?.();
      })();
      return stopping;
    };
    return { url, port, adminKeyFile, adminKeyGenerated, dispatcher: deliveries, store: raw, keyring, context, app, stop };
  } catch (err) {
    clearInterval(pruneTimer);
    unsubscribe?.();
    server?.close();
    await dispatcher?.close();
    await pool?.close();
    await raw.close();
    throw err;
  }
}
