/**
 * EV_NO_ACTION events: never extended. The data starts with a 16-byte signature naming the
 * structure: "Spec ID Event03" (TCG_EfiSpecIdEvent), "StartupLocality" (TCG_EfiStartupLocalityEvent),
 * "SP800-155 Event" (reference-manifest pointers), "NvIndexInstance"/"NvIndexDynamic", ...
 */
import { ByteReader } from '../../util/bytes.ts';
import type { DecodedEvent } from '../types.ts';
import { parseSpecIdData } from '../spec-id.ts';

const SIG_LEN = 16;

/** The 16-byte signature as text when it is printable ASCII (NUL-padded), else as hex. */
function signatureOf(data: Uint8Array): string {
  const sig = data.subarray(0, Math.min(SIG_LEN, data.length));
  let end = sig.length;
  while (end > 0 && sig[end - 1] === 0) end--;
  for (let i = 0; i < end; i++) {
    const c = sig[i] ?? 0;
    if (c < 0x20 || c > 0x7e) return Buffer.from(sig).toString('hex');
  }
  return Buffer.from(sig.subarray(0, end)).toString('latin1');
}

export function decodeNoAction(data: Uint8Array, baseOffset: number): DecodedEvent {
  const signature = signatureOf(data);
  if (signature === 'StartupLocality') {
    const r = new ByteReader(data, 'TCG_EfiStartupLocalityEvent', 'le', baseOffset);
    r.skip(SIG_LEN, 'Signature');
    const locality = r.u8('StartupLocality');
    r.expectEnd();
    return { kind: 'startup_locality', locality };
  }
  if (signature.startsWith('SP800-155 Event')) return { kind: 'sp800_155', raw: data };
  if (signature === 'Spec ID Event03') {
    const p = parseSpecIdData(data, baseOffset);
    if (p.vendorInfoMissing > 0) throw new Error('vendorInfo extends past EventSize');
    return { kind: 'spec_id', specId: { ...p.specId, vendorInfo: p.vendorInfoInside } };
  }
  return { kind: 'no_action', signature };
}

/** The StartupLocality value if `data` is a TCG_EfiStartupLocalityEvent. */
export function startupLocalityOf(decoded: DecodedEvent): number | undefined {
  return decoded.kind === 'startup_locality' ? decoded.locality : undefined;
}
