/**
 * The appraisal pipeline on worker threads, so the HTTP event loop only parses, stores and
 * answers while other cores appraise. The pipeline is pure (bytes and profiles in, verdict out),
 * so moving it changes nothing but where it runs. Errors come back as the same classes
 * (ParseError, ApiError) the in-process pipeline throws. Each profile version is sent to a
 * worker once and named by id afterwards.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startTsWorker } from '../util/ts-worker.ts';
import { ApiError, ParseError } from '../util/errors.ts';
import { appraiseSync } from './appraise-core.ts';
import type { AppraiseInput, AppraiseOutput, LoadedProfile } from './ports.ts';

export interface WorkerRequest {
  id: number;
  input: Omit<AppraiseInput, 'profiles'>;
  profileIds: number[];
  newProfiles: Array<{ id: number; profile: LoadedProfile }>;
}

type WorkerError =
  | { kind: 'parse'; structure: string; field: string; offset: number; detail: string }
  | { kind: 'api'; status: ApiError['status']; code: string; message: string }
  | { kind: 'other'; message: string };

export type WorkerReply = { id: number; ok: true; output: AppraiseOutput } | { id: number; ok: false; error: WorkerError };

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (o: AppraiseOutput) => void; reject: (e: unknown) => void }>;
  sentProfiles: Set<number>;
  /** Replies sent: a worker that dies before its first reply is not restarted (it would die again). */
  served: number;
}


function revive(e: WorkerError): Error {
  if (e.kind === 'parse') return new ParseError(e.structure, e.field, e.offset, e.detail);
  if (e.kind === 'api') return new ApiError(e.status, e.code, e.message);
  return new Error(`appraisal worker: ${e.message}`);
}

export class AppraisalPool {
  private readonly slots: Slot[] = [];
  private readonly profileIds = new WeakMap<LoadedProfile, number>();
  private nextProfileId = 1;
  private nextId = 1;
  private closed = false;

  /** `size` 0 or less: one worker per core but one (the event loop keeps a core). `onWorkerError` hears of workers that died. */
  constructor(
    size: number,
    private readonly onWorkerError?: (err: Error) => void,
  ) {
    const n = size > 0 ? size : Math.max(1, availableParallelism() - 1);
    for (let i = 0; i < n; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    const worker = startTsWorker(siblingModule(import.meta.url, 'appraisal-worker'));
    worker.unref();
    const slot: Slot = { worker, pending: new Map(), sentProfiles: new Set(), served: 0 };
    worker.on('message', (r: WorkerReply) => {
      const p = slot.pending.get(r.id);
      if (!p) return;
      slot.pending.delete(r.id);
      slot.served++;
      if (r.ok) p.resolve(r.output);
      else p.reject(revive(r.error));
    });
    const fail = (err: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      const error = err instanceof Error ? err : new Error(String(err));
      if (!this.closed) this.onWorkerError?.(error);
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
      if (slot.served > 0 && !this.closed) this.slots[i] = this.spawn();
      else this.slots.splice(i, 1);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`appraisal worker exited with code ${code}`)));
    return slot;
  }

  private profileId(p: LoadedProfile): number {
    let id = this.profileIds.get(p);
    if (id === undefined) {
      id = this.nextProfileId++;
      this.profileIds.set(p, id);
    }
    return id;
  }

  appraise(input: AppraiseInput): Promise<AppraiseOutput> {
    if (this.closed) return Promise.reject(new Error('the appraisal pool is closed'));
    // No worker could start: appraise here rather than not at all.
    let slot = this.slots[0];
    if (!slot) return new Promise((resolve) => resolve(appraiseSync(input)));
    // The least busy worker.
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const { profiles, ...rest } = input;
    const profileIds: number[] = [];
    const newProfiles: WorkerRequest['newProfiles'] = [];
    for (const p of profiles) {
      const id = this.profileId(p);
      profileIds.push(id);
      if (!slot.sentProfiles.has(id)) {
        slot.sentProfiles.add(id);
        newProfiles.push({ id, profile: p });
      }
    }
    const id = this.nextId++;
    const target = slot;
    return new Promise<AppraiseOutput>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      const msg: WorkerRequest = { id, input: rest, profileIds, newProfiles };
      target.worker.postMessage(msg);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
