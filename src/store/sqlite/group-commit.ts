/**
 * Group commit: every write issued during one event-loop turn runs in ONE SQLite transaction,
 * committed once on the setImmediate boundary. Each caller's promise settles only after that
 * commit is durable, so nothing is acknowledged before it is on disk.
 *
 * Durability is paid off the event loop. The connection runs with synchronous=NORMAL, so COMMIT
 * only write()s the WAL frames; `sync` (an fdatasync of the WAL file in libuv's thread pool) then
 * makes them durable, exactly the fsync synchronous=FULL would have done inside COMMIT, but
 * without blocking every request behind it. Batches committed while a sync is in flight wait for
 * the next one, so one fsync covers every batch committed before it started.
 *
 * A failed fsync leaves the page cache in an unknown state (retrying it can "succeed" without the
 * data ever reaching disk), so it is fatal: those writes reject and every later write rejects too.
 *
 * Each operation runs inside its own SAVEPOINT: one that throws is rolled back alone and
 * rejects alone; the others still commit. Operations run one after another in arrival order,
 * so atomic ones (consume a nonce, activate an enrollment) keep their read-check-write
 * semantics; their nested db.transaction() calls become savepoints inside the batch.
 */
import type Database from 'better-sqlite3';

interface Pending {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A committed batch whose answers wait for the fsync that makes it durable. */
interface Committed {
  batch: Pending[];
  outcomes: Outcome[];
}

export interface GroupCommitOptions {
  /** Called after each committed batch with the number of operations it carried. */
  onCommit?: (operations: number) => void;
  /**
   * Makes every commit so far durable (fdatasync of the WAL). Omitted when COMMIT itself is
   * durable (synchronous=FULL) or there is nothing to sync (an in-memory database).
   */
  sync?: () => Promise<void>;
  /** Called after each successful sync with how many batches it made durable and its seconds. */
  onSync?: (batches: number, seconds: number) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly inSavepoint: (op: () => unknown) => unknown;
  /** Committed, not yet known durable: settled by the next sync to start. */
  private awaitingSync: Committed[] = [];
  private syncing: Promise<void> | undefined;
  private syncFailure: Error | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly options: GroupCommitOptions = {},
  ) {
    // IMMEDIATE: take the write lock up front, so another process sharing the file cannot
    // slip a write between an operation's read and its write.
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    // Inside an open transaction better-sqlite3 runs a transaction function as a savepoint.
    this.inSavepoint = db.transaction((op: () => unknown) => op());
  }

  /** Queues `op` for this turn's batch; resolves with its result once the batch is durable. */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.syncFailure) {
        reject(this.syncFailure);
        return;
      }
      this.queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Runs and commits everything queued now. Answers follow once the commit is durable: at once
   * when there is no `sync`, else after the next fsync (see `drain`).
   */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    let failure: unknown;
    try {
      if (!this.db.open) throw new Error('the database is closed');
      this.begin.run();
      for (const p of batch) {
        try {
          outcomes.push({ ok: true, value: this.inSavepoint(p.op) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
        // Some errors (I/O, disk full) make SQLite roll back the whole transaction.
        if (!this.db.inTransaction) throw new Error('SQLite rolled back the batch transaction', { cause: (outcomes.at(-1) as { error?: unknown }).error });
      }
      this.commit.run();
    } catch (err) {
      failure = err;
      if (this.db.open && this.db.inTransaction) this.rollback.run();
    }
    if (failure !== undefined) {
      batch.forEach((p, i) => {
        const o = outcomes[i];
        p.reject(o && !o.ok ? o.error : failure);
      });
      return;
    }
    this.options.onCommit?.(batch.length);
    if (!this.options.sync) {
      settle({ batch, outcomes });
      return;
    }
    this.awaitingSync.push({ batch, outcomes });
    if (!this.syncing) this.syncing = this.syncLoop();
  }

  /** Set once an fsync failed: from then on every write is refused. */
  get failure(): Error | undefined {
    return this.syncFailure;
  }

  /** Resolves once every batch committed so far is durable (or has been rejected). */
  async drain(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  /** fsyncs until no committed batch is waiting; each fsync settles the batches committed before it began. */
  private async syncLoop(): Promise<void> {
    const sync = this.options.sync;
    try {
      while (sync && this.awaitingSync.length > 0) {
        const covered = this.awaitingSync;
        this.awaitingSync = [];
        const t0 = performance.now();
        try {
          if (this.syncFailure) throw this.syncFailure;
          await sync();
        } catch (err) {
          this.syncFailure ??= new Error('fsync of the SQLite WAL failed: writes are no longer accepted, restart the service', { cause: err });
          for (const c of covered) for (const p of c.batch) p.reject(this.syncFailure);
          continue;
        }
        this.options.onSync?.(covered.length, (performance.now() - t0) / 1000);
        for (const c of covered) settle(c);
      }
    } finally {
      this.syncing = undefined;
    }
  }
}

function settle({ batch, outcomes }: Committed): void {
  batch.forEach((p, i) => {
    const o = outcomes[i];
    if (o?.ok) p.resolve(o.value);
    else p.reject(o?.error);
  });
}
