/** Listeners of a store's committed changes (Store.subscribe); a failing listener is isolated. */
import type { StoreChange } from './types.ts';

export class ChangeFeed {
  private readonly listeners = new Set<(c: StoreChange) => void>();

  subscribe(listener: (c: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(change: StoreChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch {
        // A listener's failure must not fail the write that was already committed.
      }
    }
  }
}
