/**
 * Webhook subscriptions, kept in the store so every replica delivers to the same set, with each
 * HMAC secret sealed under the master key. A `<dataDir>/webhooks.json` left by an earlier version
 * is imported once at start and renamed `webhooks.json.imported`.
 */
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Store, WebhookDelivery } from '../../store/types.ts';
import { fromBase64 } from '../../util/encoding.ts';
import { openText, sealText } from '../../util/envelope.ts';

export const WEBHOOKS_FILE = 'webhooks.json';
export const WEBHOOK_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const MIN_WEBHOOK_SECRET_BYTES = 32;
const MAX_WEBHOOKS = 100;
/** sealText purpose of a webhook secret; the webhook id is the envelope's id. */
const SEAL_PURPOSE = 'webhook';

export const webhookUrlSchema = z
  .string()
  .max(2048)
  .refine((s) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return false;
    }
    // Credentials in the URL would end up in logs; the HMAC secret authenticates instead.
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
  }, 'url must be an http(s) URL without credentials');

export const webhookSecretSchema = z.string().max(1024).refine((s) => {
  const b = fromBase64(s);
  return b !== null && b.length >= MIN_WEBHOOK_SECRET_BYTES;
}, `secret must be base64 of at least ${MIN_WEBHOOK_SECRET_BYTES} bytes`);

const webhookSchema = z.object({
  id: z.string().regex(WEBHOOK_ID_RE),
  url: webhookUrlSchema,
  secret: webhookSecretSchema,
  updatedAt: z.string(),
});
const legacyFileSchema = z.object({ version: z.literal(1), webhooks: z.array(webhookSchema).max(MAX_WEBHOOKS) });

/** A webhook as given by an admin: `secret` is base64 of the HMAC key, in clear. */
export type WebhookConfig = z.infer<typeof webhookSchema>;
/** What may be shown: never the secret. */
export type WebhookView = Omit<WebhookConfig, 'secret'>;

export class WebhookRegistryError extends Error {
  override readonly name = 'WebhookRegistryError';
}

export class WebhookRegistry {
  private constructor(
    private readonly store: Pick<Store, 'putWebhook' | 'deleteWebhook' | 'listWebhooks'>,
    private readonly masterKey: Uint8Array,
  ) {}

  /** The registry over `store`; imports `<dataDir>/webhooks.json` when one is left from an earlier version. */
  static async open(store: Pick<Store, 'putWebhook' | 'deleteWebhook' | 'listWebhooks'>, masterKey: Uint8Array, dataDir?: string): Promise<WebhookRegistry> {
    const reg = new WebhookRegistry(store, masterKey);
    if (dataDir !== undefined) await reg.importLegacyFile(path.join(dataDir, WEBHOOKS_FILE));
    return reg;
  }

  private async importLegacyFile(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new WebhookRegistryError(`cannot read ${file}: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WebhookRegistryError(`${file} is not JSON; fix or delete it`);
    }
    const parsed = legacyFileSchema.safeParse(json);
    if (!parsed.success) throw new WebhookRegistryError(`${file} is not a bootgate webhook file: ${parsed.error.issues[0]?.message ?? ''}`);
    const existing = new Set((await this.store.listWebhooks()).map((w) => w.id));
    for (const h of parsed.data.webhooks) if (!existing.has(h.id)) await this.store.putWebhook(this.sealed(h));
    await rename(file, `${file}.imported`);
  }

  private sealed(h: WebhookConfig) {
    return { id: h.id, url: h.url, secret: sealText(this.masterKey, SEAL_PURPOSE, h.id, h.secret), updatedAt: h.updatedAt };
  }

  async list(): Promise<WebhookView[]> {
    return (await this.store.listWebhooks()).map(({ id, url, updatedAt }) => ({ id, url, updatedAt }));
  }

  async put(h: WebhookConfig): Promise<'created' | 'updated'> {
    const parsed = webhookSchema.parse(h);
    const hooks = await this.store.listWebhooks();
    if (!hooks.some((w) => w.id === parsed.id) && hooks.length >= MAX_WEBHOOKS) throw new WebhookRegistryError(`at most ${MAX_WEBHOOKS} webhooks`);
    return this.store.putWebhook(this.sealed(parsed));
  }

  delete(id: string): Promise<boolean> {
    return this.store.deleteWebhook(id);
  }

  /** The HMAC key of a claimed delivery, or null when its sealed secret does not open (wrong master key). */
  secretOf(d: WebhookDelivery): Uint8Array | null {
    try {
      return fromBase64(openText(this.masterKey, SEAL_PURPOSE, d.webhookId, d.secret));
    } catch {
      return null;
    }
  }
}
