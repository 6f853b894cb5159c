/** EV_SEPARATOR: a 4-byte value (0 normal, 1 or 0xFFFFFFFF error); Windows logs "WBCL" in its own separators. */
import type { DecodedEvent } from '../types.ts';

export function decodeSeparator(data: Uint8Array): DecodedEvent {
  if (data.length === 4) {
    const value = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
    if (value === 0 || value === 1 || value === 0xffffffff) return { kind: 'separator', value, isError: value !== 0, raw: data };
  }
  // "WBCL" (Windows Boot Configuration Log) and other vendor separators: not an error marker.
  return { kind: 'separator', value: null, isError: false, raw: data };
}
