/**
 * The appraisal pipeline on worker threads (piscina), so the HTTP event loop only parses, stores
 * and answers while other cores appraise. The pipeline is pure (bytes and profiles in, verdict
 * out), so moving it changes nothing but where it runs. Errors come back as the same classes
 * (ParseError, ApiError) the in-process pipeline throws. A worker keeps each profile version it
 * was sent: tasks name profiles by id, and a worker that lacks one asks for it once.
 *
 * piscina replaced a hand-written pool. In `npm run bench -- service` (one worker, interleaved
 * A/B rounds) it spent 1.69 and 2.57 ms of server CPU per attestation against 2.92 and 2.58 ms
 * for the hand-written pool, once tasks queue in the workers (concurrentTasksPerWorker below).
 * Its bare dispatch costs about 15 µs more CPU per task, about 1% of an attestation.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { poolWorker, siblingModule } from '../util/ts-worker.ts';
import { ApiError, ParseError } from '../util/errors.ts';
import type { AppraiseInput, AppraiseOutput, LoadedProfile } from './ports.ts';

export interface WorkerRequest {
  input: Omit<AppraiseInput, 'profiles'>;
  profileIds: number[];
  newProfiles: Array<{ id: number; profile: LoadedProfile }>;
}

type WorkerError =
  | { kind: 'parse'; structure: string; field: string; offset: number; detail: string }
  | { kind: 'api'; status: ApiError['status']; code: string; message: string }
  | { kind: 'other'; message: string };

export type WorkerReply = { ok: true; output: AppraiseOutput } | { ok: false; error: WorkerError } | { ok: 'missing'; ids: number[] };

function revive(e: WorkerError): Error {
  if (e.kind === 'parse') return new ParseError(e.structure, e.field, e.offset, e.detail);
  if (e.kind === 'api') return new ApiError(e.status, e.code, e.message);
  return new Error(`appraisal worker: ${e.message}`);
}

export class AppraisalPool {
  private readonly pool: Piscina<WorkerRequest, WorkerReply>;
  private readonly profileIds = new WeakMap<LoadedProfile, number>();
  private nextProfileId = 1;

  /** `size` 0 or less: one worker per core but one (the event loop keeps a core). `onWorkerError` hears of workers that died. */
  constructor(size: number, onWorkerError?: (err: Error) => void) {
    const n = size > 0 ? size : Math.max(1, availableParallelism() - 1);
    this.pool = new Piscina({
      ...poolWorker(siblingModule(import.meta.url, 'appraisal-worker')),
      minThreads: n,
      maxThreads: n,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Queue tasks in the workers, not here: with one task per worker, each next task waits for
      // the busy event loop to hand it over, and the workers idle (the service bench showed it).
      concurrentTasksPerWorker: 64,
    });
    // piscina replaces a dead worker and rejects its tasks; the service logs why.
    this.pool.on('error', (err: Error) => onWorkerError?.(err));
  }

  get size(): number {
    return this.pool.options.maxThreads;
  }

  private profileId(p: LoadedProfile): number {
    let id = this.profileIds.get(p);
    if (id === undefined) {
      id = this.nextProfileId++;
      this.profileIds.set(p, id);
    }
    return id;
  }

  async appraise(input: AppraiseInput): Promise<AppraiseOutput> {
    const { profiles, ...rest } = input;
    const profileIds = profiles.map((p) => this.profileId(p));
    let reply = await this.pool.run({ input: rest, profileIds, newProfiles: [] });
    // This worker has not seen some profile yet: send the task's profiles along once.
    if (reply.ok === 'missing') reply = await this.pool.run({ input: rest, profileIds, newProfiles: profiles.map((profile, i) => ({ id: profileIds[i]!, profile })) });
    if (reply.ok === true) return reply.output;
    if (reply.ok === false) throw revive(reply.error);
    throw new Error('appraisal worker: profiles were sent and are still missing');
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
