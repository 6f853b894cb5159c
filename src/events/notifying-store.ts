/**
 * Wrap the Store so that every appended trust event, whoever appends it (enrollment, appraisal,
 * revocation), is published to the hub right after it is durable. Mount this wrapper once where
 * the service builds its store and no code path can forget to notify.
 */
import type { Store } from '../store/types.ts';
import type { TrustEventHub } from './hub.ts';

export function withTrustEventNotifications(store: Store, hub: TrustEventHub): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendTrustEvent') {
        return async (e: Parameters<Store['appendTrustEvent']>[0]) => {
          const stored = await target.appendTrustEvent(e);
          hub.publish(stored);
          return stored;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
