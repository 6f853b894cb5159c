/** TCG_PCClientTaggedEvent (EV_EVENT_TAG): taggedEventID, taggedEventDataSize, taggedEventData. */
import { ByteReader } from '../../util/bytes.ts';
import type { DecodedEvent } from '../types.ts';

export function decodeEventTag(data: Uint8Array, baseOffset: number): DecodedEvent {
  const r = new ByteReader(data, 'TCG_PCClientTaggedEvent', 'le', baseOffset);
  const taggedEventId = r.u32('taggedEventID');
  const size = r.u32('taggedEventDataSize');
  const tagged = r.bytesView(size, 'taggedEventData');
  r.expectEnd();
  return { kind: 'event_tag', taggedEventId, data: tagged };
}
