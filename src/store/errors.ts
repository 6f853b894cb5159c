/** Errors a Store raises for conditions callers handle (not bugs, not corruption). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    /** host_not_found: a write referenced a host deleted meanwhile. */
    readonly code: 'host_not_found',
    message: string,
  ) {
    super(message);
  }
}
