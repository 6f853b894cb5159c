/** A plain Uint8Array copy. (Buffer#slice returns a view, so `.slice()` on file bytes would alias.) */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
