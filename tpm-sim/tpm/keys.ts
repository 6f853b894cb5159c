/**
 * Key material for simulated TPMs. ECC P-256 keys are derived deterministically from a seed (cheap:
 * one HMAC and one point multiplication). RSA keys cannot be derived cheaply with Node crypto, so they
 * are random and come from a per-process pool that prewarmRsaKeys() fills in the background.
 */
import { createECDH, createHmac, createPrivateKey, generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/** An ECC P-256 private key derived from (seed, label); the same inputs give the same key. */
export function deriveP256Key(seed: Uint8Array, label: string): KeyObject {
  for (let counter = 0; ; counter++) {
    const d = createHmac('sha256', seed).update(`${label}\0${counter}`).digest();
    const n = BigInt(`0x${d.toString('hex')}`);
    if (n === 0n || n >= P256_ORDER) continue;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const pub = ecdh.getPublicKey();
    return createPrivateKey({
      key: { kty: 'EC', crv: 'P-256', d: b64url(d), x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)) },
      format: 'jwk',
    });
  }
}

const rsaPool: KeyObject[] = [];

/** A fresh RSA-2048 private key: from the pool when one is ready, else generated now (slow, ~50-200 ms). */
export function takeRsaKey(): KeyObject {
  const pooled = rsaPool.pop();
  if (pooled) return pooled;
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 }).privateKey;
}

/** Pre-generate n RSA-2048 keys on the libuv thread pool so later hosts are created quickly. */
export async function prewarmRsaKeys(n: number): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(
      new Promise<void>((resolve, reject) => {
        generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 65537 }, (err, _pub, privateKey) => {
          if (err) reject(err);
          else {
            rsaPool.push(privateKey);
            resolve();
          }
        });
      }),
    );
  }
  await Promise.all(jobs);
}

export function rsaPoolSize(): number {
  return rsaPool.length;
}
