/**
 * ES256 token signing keys: generated on first start, persisted in the Store, identified by
 * their RFC 7638 thumbprint. Rotation makes a new key sign while the old one stays published
 * until every token it signed has expired.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Store, SigningKeyRecord } from '../store/types.ts';

/** Relying parties' clocks drift; a retired key stays published this much longer than the TTL. */
const PUBLISH_LEEWAY_SECONDS = 60;

interface LoadedKey {
  record: SigningKeyRecord;
  publicJwk: JWK;
  privateKey: CryptoKey | undefined;
}

export interface PublicJwks {
  keys: JWK[];
}

async function generateRecord(now: Date): Promise<SigningKeyRecord> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    privateJwk: JSON.stringify({ ...privateJwk, kid, alg: 'ES256' }),
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg: 'ES256', use: 'sig' }),
    createdAt: now.toISOString(),
  };
}

async function load(record: SigningKeyRecord): Promise<LoadedKey> {
  const publicJwk = JSON.parse(record.publicJwk) as JWK;
  const privateKey = record.retiredAt
    ? undefined
    : ((await importJWK(JSON.parse(record.privateJwk) as JWK, 'ES256')) as CryptoKey);
  return { record, publicJwk, privateKey };
}

export class SigningKeyring {
  private keys: LoadedKey[];

  private constructor(
    private readonly store: Store,
    private readonly tokenTtlSeconds: number,
    keys: LoadedKey[],
  ) {
    this.keys = keys;
  }

  /** Loads the persisted keys, generating the first one when there is none that can sign. */
  static async open(store: Store, tokenTtlSeconds: number, now: Date = new Date()): Promise<SigningKeyring> {
    const keys = await Promise.all((await store.listSigningKeys()).map(load));
    const ring = new SigningKeyring(store, tokenTtlSeconds, keys);
    if (!keys.some((k) => k.privateKey)) await ring.addKey(now);
    return ring;
  }

  private async addKey(now: Date): Promise<LoadedKey> {
    const loaded = await load(await generateRecord(now));
    await this.store.putSigningKey(loaded.record);
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

  /** Starts signing with a fresh key; the previous keys stop signing and stay published for TTL + leeway. */
  async rotate(now: Date = new Date()): Promise<string> {
    const retireAfter = new Date(now.getTime() + (this.tokenTtlSeconds + PUBLISH_LEEWAY_SECONDS) * 1000);
    const fresh = await this.addKey(now);
    for (const k of this.keys) {
      if (k === fresh || k.record.retiredAt) continue;
      await this.store.retireSigningKey(k.record.kid, now, retireAfter);
      k.record = { ...k.record, retiredAt: now.toISOString(), retireAfter: retireAfter.toISOString() };
      k.privateKey = undefined;
    }
    return fresh.record.kid;
  }
}

/** Rotates the token signing key (see SigningKeyring.rotate); returns the new kid. */
export async function rotateSigningKey(keyring: SigningKeyring, now: Date = new Date()): Promise<string> {
  return keyring.rotate(now);
}
