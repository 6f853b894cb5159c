/**
 * Webhook subscriptions, kept in memory and persisted to a small JSON file in the data directory
 * (`<dataDir>/webhooks.json`, mode 0600: it holds the HMAC secrets). The file is rewritten
 * atomically (temp file + rename) on every change.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { fromBase64 } from '../../util/encoding.ts';

export const WEBHOOKS_FILE = 'webhooks.json';
export const WEBHOOK_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const MIN_WEBHOOK_SECRET_BYTES = 32;
const MAX_WEBHOOKS = 100;

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
const fileSchema = z.object({ version: z.literal(1), webhooks: z.array(webhookSchema).max(MAX_WEBHOOKS) });

export type WebhookConfig = z.infer<typeof webhookSchema>;

export class WebhookRegistryError extends Error {
  override readonly name = 'WebhookRegistryError';
}

export class WebhookRegistry {
  private readonly hooks = new Map<string, WebhookConfig>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string | null) {}

  /** Load `<dataDir>/webhooks.json` if present; `null` keeps everything in memory only. */
  static async open(dataDir: string | null): Promise<WebhookRegistry> {
    const reg = new WebhookRegistry(dataDir === null ? null : path.join(dataDir, WEBHOOKS_FILE));
    if (reg.file === null) return reg;
    let text: string;
    try {
      text = await readFile(reg.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reg;
      throw new WebhookRegistryError(`cannot read ${reg.file}: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WebhookRegistryError(`${reg.file} is not JSON; fix or delete it`);
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) throw new WebhookRegistryError(`${reg.file} is not a bootgate webhook file: ${parsed.error.issues[0]?.message ?? ''}`);
    for (const h of parsed.data.webhooks) reg.hooks.set(h.id, h);
    return reg;
  }

  list(): WebhookConfig[] {
    return [...this.hooks.values()];
  }

  get(id: string): WebhookConfig | undefined {
    return this.hooks.get(id);
  }

  async put(h: WebhookConfig): Promise<'created' | 'updated'> {
    const parsed = webhookSchema.parse(h);
    const existed = this.hooks.has(parsed.id);
    if (!existed && this.hooks.size >= MAX_WEBHOOKS) throw new WebhookRegistryError(`at most ${MAX_WEBHOOKS} webhooks`);
    this.hooks.set(parsed.id, parsed);
    await this.persist();
    return existed ? 'updated' : 'created';
  }

  async delete(id: string): Promise<boolean> {
    const existed = this.hooks.delete(id);
    if (existed) await this.persist();
    return existed;
  }

  /** Writes are serialised so the file always holds one complete snapshot. */
  private persist(): Promise<void> {
    const file = this.file;
    if (file === null) return Promise.resolve();
    const snapshot = JSON.stringify({ version: 1, webhooks: this.list() }, null, 2);
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, snapshot, { mode: 0o600 });
        await chmod(tmp, 0o600);
        await rename(tmp, file);
      });
    return this.writing;
  }
}
