/** Errors a Store raises for conditions callers handle (not bugs, not corruption). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    /**
     * host_not_found: a write referenced a host deleted meanwhile.
     * unavailable: the database cannot be reached; nothing of this call was acknowledged.
     */
    readonly code: 'host_not_found' | 'unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
