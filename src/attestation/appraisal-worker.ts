/** An appraisal worker thread (see appraisal-pool.ts): runs appraiseSync for the main thread. */
import { parentPort } from 'node:worker_threads';
import { ApiError, ParseError } from '../util/errors.ts';
import { appraiseSync, newLogCache } from './appraise-core.ts';
import type { LoadedProfile } from './ports.ts';
import type { WorkerReply, WorkerRequest } from './appraisal-pool.ts';

const port = parentPort;
if (!port) throw new Error('appraisal-worker.ts runs as a worker thread');
/** Profiles by the pool's id: each is sent once per worker, then named by id. */
const profiles = new Map<number, LoadedProfile>();
const logCache = newLogCache();

port.on('message', (m: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    for (const p of m.newProfiles) profiles.set(p.id, p.profile);
    const list = m.profileIds.map((id) => {
      const p = profiles.get(id);
      if (!p) throw new Error(`appraisal worker: profile ${id} was never sent`);
      return p;
    });
    reply = { id: m.id, ok: true, output: appraiseSync({ ...m.input, profiles: list }, logCache) };
  } catch (err) {
    reply = {
      id: m.id,
      ok: false,
      error:
        err instanceof ParseError
          ? { kind: 'parse', structure: err.structure, field: err.field, offset: err.offset, detail: err.message.slice(`${err.structure}.${err.field} at offset ${err.offset}: `.length) }
          : err instanceof ApiError
            ? { kind: 'api', status: err.status, code: err.code, message: err.message }
            : { kind: 'other', message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    };
  }
  port.postMessage(reply);
});
