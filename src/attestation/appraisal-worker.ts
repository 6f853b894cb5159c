/** An appraisal worker thread (see appraisal-pool.ts): runs appraiseSync for the main thread. */
import { ApiError, ParseError } from '../util/errors.ts';
import { appraiseSync, newLogCache } from './appraise-core.ts';
import type { LoadedProfile } from './ports.ts';
import type { WorkerReply, WorkerRequest } from './appraisal-pool.ts';

/** Profiles by the pool's id: each is sent to a worker once, then named by id. */
const profiles = new Map<number, LoadedProfile>();
const logCache = newLogCache();

export default function appraiseTask(m: WorkerRequest): WorkerReply {
  try {
    for (const p of m.newProfiles) profiles.set(p.id, p.profile);
    const missing = m.profileIds.filter((id) => !profiles.has(id));
    if (missing.length > 0) return { ok: 'missing', ids: missing };
    const list = m.profileIds.map((id) => profiles.get(id) as LoadedProfile);
    return { ok: true, output: appraiseSync({ ...m.input, profiles: list }, logCache) };
  } catch (err) {
    return {
      ok: false,
      error:
        err instanceof ParseError
          ? { kind: 'parse', structure: err.structure, field: err.field, offset: err.offset, detail: err.message.slice(`${err.structure}.${err.field} at offset ${err.offset}: `.length) }
          : err instanceof ApiError
            ? { kind: 'api', status: err.status, code: err.code, message: err.message }
            : { kind: 'other', message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    };
  }
}
