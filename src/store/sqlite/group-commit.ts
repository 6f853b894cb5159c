/**
 * Group commit: every write issued during one event-loop turn runs in ONE SQLite transaction,
 * committed (and, with synchronous=FULL, fsynced) once on the setImmediate boundary. Each
 * caller's promise settles only after that commit, so nothing is acknowledged before it is
 * durable; the fsync, which dominates a write, is paid once per batch instead of once per write.
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

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly inSavepoint: (op: () => unknown) => unknown;

  constructor(
    private readonly db: Database.Database,
    /** Called after each committed batch with the number of operations it carried. */
    private readonly onCommit?: (operations: number) => void,
  ) {
    // IMMEDIATE: take the write lock up front, so another process sharing the file cannot
    // slip a write between an operation's read and its write.
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    // Inside an open transaction better-sqlite3 runs a transaction function as a savepoint.
    this.inSavepoint = db.transaction((op: () => unknown) => op());
  }

  /** Queues `op` for this turn's batch; resolves with its result once the batch is committed. */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs and commits everything queued now (also used before closing the database). */
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
    if (failure === undefined) this.onCommit?.(batch.length);
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (failure !== undefined) p.reject(o && !o.ok ? o.error : failure);
      else if (o?.ok) p.resolve(o.value);
      else p.reject(o?.error);
    });
  }
}
