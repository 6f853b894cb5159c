/**
 * Loading golden profiles: validate with zod, refuse anything broken with a ProfileError that names
 * the file, the JSON path and the problem. Note: JSON.parse keeps the last of duplicate keys and
 * cannot report them, so a profile with a duplicated key loads with the later value.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ProfileSchema, type GoldenProfile } from './schema.ts';
import { ProfileError, jsonPath } from './errors.ts';

/** Profiles larger than this are refused before parsing (a profile is a few hundred KiB at most). */
export const MAX_PROFILE_BYTES = 8 * 1024 * 1024;

export function parseProfile(json: unknown, source: string): GoldenProfile {
  const r = ProfileSchema.safeParse(json);
  if (!r.success) {
    throw new ProfileError(
      source,
      r.error.issues.map((i) => ({ path: jsonPath(i.path), problem: i.message })),
    );
  }
  return r.data;
}

export function parseProfileText(text: string, source: string): GoldenProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(source, [{ path: '$', problem: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return parseProfile(json, source);
}

export function loadProfileFile(file: string): GoldenProfile {
  let text: string;
  try {
    const st = statSync(file);
    if (st.size > MAX_PROFILE_BYTES) throw new Error(`larger than ${MAX_PROFILE_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProfileError(file, [{ path: '$', problem: `cannot read: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return parseProfileText(text, file);
}

/**
 * Every `*.json` directly in `dir` except `*.schema.json`, sorted by file name. Subfolders (such as
 * examples/) are not read. Any broken profile, or two files with the same name@version, throws.
 */
export function loadProfileDir(dir: string): GoldenProfile[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new ProfileError(dir, [{ path: '$', problem: `cannot read directory: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  const files = entries
    .filter((d) => d.isFile() && d.name.endsWith('.json') && !d.name.endsWith('.schema.json'))
    .map((d) => d.name)
    .sort();
  const seen = new Map<string, string>();
  const out: GoldenProfile[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const p = loadProfileFile(file);
    const id = profileId(p);
    const prev = seen.get(id);
    if (prev !== undefined) {
      throw new ProfileError(file, [{ path: '$.version', problem: `${id} is also defined in ${prev}` }]);
    }
    seen.set(id, file);
    out.push(p);
  }
  return out;
}

export function profileId(p: Pick<GoldenProfile, 'name' | 'version'>): string {
  return `${p.name}@${p.version}`;
}
