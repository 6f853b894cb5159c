/** Webhook body signature: `X-Bootgate-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../util/encoding.ts';

export const SIGNATURE_HEADER = 'X-Bootgate-Signature';
export const SEQ_HEADER = 'X-Bootgate-Event-Seq';

export function signWebhookBody(secret: Uint8Array, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers (and tests): compare over the exact bytes received, in constant time. */
export function verifyWebhookSignature(secret: Uint8Array, body: string | Uint8Array, header: string | undefined): boolean {
  if (header === undefined) return false;
  return constantTimeEqual(Buffer.from(signWebhookBody(secret, body)), Buffer.from(header));
}
