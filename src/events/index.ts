export { TrustEventHub, type TrustEventListener, type WaitOutcome } from './hub.ts';
export { withTrustEventNotifications } from './notifying-store.ts';
export { pollTrustEvents, type PollResult } from './long-poll.ts';
export { createEventsRouter, type EventsDeps, DEFAULT_POLL_TIMEOUT_S, MAX_POLL_TIMEOUT_S, DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT } from './routes.ts';
export { WebhookRegistry, WebhookRegistryError, WEBHOOKS_FILE, type WebhookConfig } from './webhooks/registry.ts';
export { WebhookDispatcher, backoffDelayMs, type DeliveryReport, type DispatcherOptions } from './webhooks/dispatcher.ts';
export { signWebhookBody, verifyWebhookSignature, SIGNATURE_HEADER, SEQ_HEADER } from './webhooks/signature.ts';
