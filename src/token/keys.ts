/**
 * ES256 token signing keys: generated on first start, persisted in the Store with the private
 * JWK sealed under the master key, identified by their RFC 7638 thumbprint. Rotation makes a new
 * key sign while the old one stays published until every token it signed has expired.
 *
 * Several processes may share the store: refresh() re-reads it (the JWKS route calls it on every
 * request, and the service calls it when the store reports a key change), so a rotation on one
 * replica is published and used by all.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Store, SigningKeyRecord } from '../store/types.ts';
import { EnvelopeError, openText, sealText } from '../util/envelope.ts';

/** Relying parties' clocks drift; a retired key stays published this much longer than the TTL. */
const PUBLISH_LEEWAY_SECONDS = 60;
/** sealText purpose of a private JWK; the kid is the envelope's id. */
const SEAL_PURPOSE = 'signing-key';

interface LoadedKey {
  record: SigningKeyRecord;
  publicJwk: JWK;
  privateKey: CryptoKey | undefined;
}

export interface PublicJwks {
  keys: JWK[];
}

export interface KeyringOptions {
  tokenTtlSeconds: number;
  /** 32 bytes: seals private keys at rest. Every process sharing the store must hold the same. */
  masterKey: Uint8Array;
  now?: Date;
}

/** The stored keys do not open with this master key: the service must not start. */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

/** Rows written before keys were sealed hold the JWK's JSON; a sealed row is base64. */
const isClearJwk = (stored: string): boolean => stored.trimStart().startsWith('{');

export class SigningKeyring {
  private keys: LoadedKey[] = [];
  /** A refresh not started yet, which later callers share. */
  private queued: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: Store,
    private readonly options: KeyringOptions,
  ) {}

  /**
   * Loads the persisted keys, generating the first when none can sign. Keys an earlier version
   * stored in clear (marked legacyClear by the store's upgrade) are sealed now; any other clear row
   * was not written by bootgate, and start-up stops rather than publish or sign with it.
   */
  static async open(store: Store, options: KeyringOptions): Promise<SigningKeyring> {
    const ring = new SigningKeyring(store, options);
    for (const r of await store.listSigningKeys()) {
      if (!isClearJwk(r.privateJwk)) continue;
      if (r.legacyClear !== true) {
        throw new KeyringError(`token signing key ${r.kid} is stored in clear in the database, which bootgate never writes: refusing to publish or sign with it (remove the row)`);
      }
      await store.resealSigningKey(r.kid, r.privateJwk, sealText(options.masterKey, SEAL_PURPOSE, r.kid, r.privateJwk));
    }
    await ring.serial(async () => {
      await ring.reload();
      if (!ring.keys.some((k) => k.privateKey)) await ring.addKey(options.now ?? new Date());
    });
    return ring;
  }

  /** Reads and writes of the key list run one at a time, so a reload never drops a key being added. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /**
   * Re-reads the store: new keys are loaded, retirements applied. Calls made while one is waiting
   * share it; it starts after the call, so a change committed before the call is always seen.
   */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.serial(() => {
      this.queued = undefined;
      return this.reload();
    });
    this.queued = next;
    return next;
  }

  private async reload(): Promise<void> {
    const known = new Map(this.keys.map((k) => [k.record.kid, k]));
    const next: LoadedKey[] = [];
    for (const record of await this.store.listSigningKeys()) {
      // A clear row appearing while running was not written by bootgate: never published, never used.
      if (isClearJwk(record.privateJwk)) continue;
      const k = known.get(record.kid);
      if (k) {
        k.record = record;
        if (record.retiredAt) k.privateKey = undefined;
        next.push(k);
      } else {
        next.push(await this.load(record));
      }
    }
    this.keys = next;
  }

  private async load(record: SigningKeyRecord): Promise<LoadedKey> {
    const publicJwk = JSON.parse(record.publicJwk) as JWK;
    if (record.retiredAt) return { record, publicJwk, privateKey: undefined };
    let jwkText: string;
    try {
      jwkText = openText(this.options.masterKey, SEAL_PURPOSE, record.kid, record.privateJwk);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      throw new KeyringError(
        `token signing key ${record.kid} in the database does not open with this master key: every process on one database must share BOOTGATE_MASTER_KEY`,
      );
    }
    const privateKey = (await importJWK(JSON.parse(jwkText) as JWK, 'ES256')) as CryptoKey;
    return { record, publicJwk, privateKey };
  }

  private async addKey(now: Date): Promise<LoadedKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    const privateJwk = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'ES256' });
    const record: SigningKeyRecord = {
      kid,
      privateJwk: sealText(this.options.masterKey, SEAL_PURPOSE, kid, privateJwk),
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg: 'ES256', use: 'sig' }),
      createdAt: now.toISOString(),
    };
    await this.store.putSigningKey(record);
    const loaded: LoadedKey = { record, publicJwk: JSON.parse(record.publicJwk) as JWK, privateKey };
    this.keys.push(loaded);
    return loaded;
  }

  /** The newest key that may sign. */
  current(): { kid: string; privateKey: CryptoKey } {
    for (let i = this.keys.length - 1; i >= 0; i--) {
      const k = this.keys[i];
      if (k?.privateKey) return { kid: k.record.kid, privateKey: k.privateKey };
    }
    throw new Error('no active signing key');
  }

  /** Keys a relying party needs: the active ones and retired ones whose tokens may still be valid. */
  jwks(now: Date = new Date()): PublicJwks {
    return {
      keys: this.keys
        .filter((k) => k.record.retireAfter === undefined || Date.parse(k.record.retireAfter) > now.getTime())
        .map((k) => ({ ...k.publicJwk })),
    };
  }

  /** Starts signing with a fresh key; every other key in the store stops signing and stays published for TTL + leeway. */
  rotate(now: Date = new Date()): Promise<string> {
    return this.serial(async () => {
      await this.reload();
      const retireAfter = new Date(now.getTime() + (this.options.tokenTtlSeconds + PUBLISH_LEEWAY_SECONDS) * 1000);
      const fresh = await this.addKey(now);
      for (const k of this.keys) {
        if (k === fresh || k.record.retiredAt) continue;
        await this.store.retireSigningKey(k.record.kid, now, retireAfter);
        k.record = { ...k.record, retiredAt: now.toISOString(), retireAfter: retireAfter.toISOString() };
        k.privateKey = undefined;
      }
      return fresh.record.kid;
    });
  }
}

/** Rotates the token signing key (see SigningKeyring.rotate); returns the new kid. */
export async function rotateSigningKey(keyring: SigningKeyring, now: Date = new Date()): Promise<string> {
  return keyring.rotate(now);
}
