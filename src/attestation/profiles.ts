/**
 * Golden profiles held by the service: shipped files loaded at start, versions added through
 * the admin API. A stored version is immutable; parsed profiles are cached by name@version.
 */
import type { Logger } from 'pino';
import type { ProfileRecord, Store } from '../store/types.ts';
import { ApiError } from '../util/errors.ts';
import type { CoreDependencies, LoadedProfile } from './ports.ts';
import { canonicalJson } from '../util/canonical-json.ts';

export interface ProfileSummary {
  name: string;
  version: string;
  source: 'file' | 'api';
  storedAt: string;
}

/** Names whose latest version is remembered; past this the memory is cleared (names are admin-chosen). */
const MAX_REMEMBERED_NAMES = 10_000;

export class ProfileCatalog {
  private readonly cache = new Map<string, LoadedProfile>();
  /**
   * The latest version of each name asked for, read once instead of on every attestation. Any
   * profile write clears it: this catalog's own at once, another replica's when the store reports
   * it (Store.subscribe, within milliseconds on PostgreSQL; see invalidate()).
   */
  private readonly latest = new Map<string, string | undefined>();
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly core: Pick<CoreDependencies, 'parseProfile' | 'loadProfileDir'>,
    private readonly log: Logger,
  ) {}

  /** Stores every profile of the directory (source 'file'); a version stored through the API wins. */
  async loadFiles(dir: string, now: Date): Promise<number> {
    const loaded = this.core.loadProfileDir(dir);
    for (const { profile, document, file } of loaded) {
      const existing = await this.store.getProfile(profile.name, profile.version);
      const text = canonicalJson(document);
      if (existing && existing.document === text) continue;
      if (existing && existing.source === 'api') {
        this.log.warn({ file, profile: `${profile.name}@${profile.version}` }, 'profile file differs from the version stored through the API; keeping the stored one');
        continue;
      }
      await this.store.putProfile({ name: profile.name, version: profile.version, document: text, source: 'file', storedAt: now.toISOString() });
      this.invalidate();
    }
    return loaded.length;
  }

  async list(): Promise<ProfileSummary[]> {
    return (await this.store.listProfiles()).map(({ name, version, source, storedAt }) => ({ name, version, source, storedAt }));
  }

  /** Forgets the remembered latest versions: a profile was stored, here or by another process. */
  invalidate(): void {
    this.generation++;
    this.latest.clear();
  }

  private async latestVersion(name: string): Promise<string | undefined> {
    if (this.latest.has(name)) return this.latest.get(name);
    const generation = this.generation;
    const version = await this.store.latestProfileVersion(name);
    // A write between the read and now may have made it stale: remember only what no write overtook.
    if (generation === this.generation) {
      if (this.latest.size >= MAX_REMEMBERED_NAMES) this.latest.clear();
      this.latest.set(name, version);
    }
    return version;
  }

  async get(name: string, version?: string): Promise<ProfileRecord | undefined> {
    return this.store.getProfile(name, version);
  }

  /** Validates and stores a new version; the same version with other content is a conflict. */
  async put(name: string, document: unknown, now: Date): Promise<{ name: string; version: string; created: boolean }> {
    let profile: LoadedProfile;
    try {
      profile = this.core.parseProfile(document, `PUT /v1/golden/${name}`);
    } catch (err) {
      throw new ApiError(400, 'invalid_profile', (err instanceof Error ? err.message : String(err)).slice(0, 1000));
    }
    if (profile.name !== name) {
      throw new ApiError(400, 'profile_name_mismatch', `the document names profile "${profile.name.slice(0, 128)}" but the URL names "${name}"`);
    }
    const text = canonicalJson(document);
    const existing = await this.store.getProfile(name, profile.version);
    if (existing) {
      if (existing.document !== text) {
        throw new ApiError(409, 'profile_version_exists', `${name}@${profile.version} already exists with different content; bump the version`);
      }
      return { name, version: profile.version, created: false };
    }
    await this.store.putProfile({ name, version: profile.version, document: text, source: 'api', storedAt: now.toISOString() });
    this.invalidate();
    return { name, version: profile.version, created: true };
  }

  /** A stored version by "name@version" (parsed once; versions are immutable), or undefined. */
  async byId(id: string): Promise<LoadedProfile | undefined> {
    const at = id.lastIndexOf('@');
    if (at <= 0) return undefined;
    let p = this.cache.get(id);
    if (p === undefined) {
      const rec = await this.store.getProfile(id.slice(0, at), id.slice(at + 1));
      if (rec === undefined) return undefined;
      try {
        p = this.core.parseProfile(JSON.parse(rec.document) as unknown, `store:${id}`);
      } catch {
        return undefined;
      }
      this.cache.set(id, p);
    }
    return p;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.latestVersion(name)) !== undefined;
  }

  /**
   * The latest version of each named profile; names with no stored profile are reported missing,
   * and a stored version that no longer loads (a stricter rule since it was stored) is unusable.
   */
  async resolve(names: readonly string[]): Promise<{ profiles: LoadedProfile[]; missing: string[]; unusable: Array<{ id: string; reason: string }> }> {
    const profiles: LoadedProfile[] = [];
    const missing: string[] = [];
    const unusable: Array<{ id: string; reason: string }> = [];
    for (const name of names) {
      // Every attestation asks: read the latest version's name, and its document only once.
      const version = await this.latestVersion(name);
      const key = `${name}@${version}`;
      let p = version === undefined ? undefined : this.cache.get(key);
      if (!p && version !== undefined) {
        const rec = await this.store.getProfile(name, version);
        if (rec) {
          try {
            p = this.core.parseProfile(JSON.parse(rec.document) as unknown, `store:${key}`);
            this.cache.set(key, p);
          } catch (err) {
            const reason = (err instanceof Error ? err.message : String(err)).slice(0, 500);
            this.log.warn({ profile: key, reason }, 'stored golden profile no longer loads; hosts assigned to it fail appraisal');
            unusable.push({ id: key, reason });
            continue;
          }
        }
      }
      if (p) profiles.push(p);
      else missing.push(name);
    }
    return { profiles, missing, unusable };
  }
}
