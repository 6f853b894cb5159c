/** Public API of the event-log module: parse, replay, digest consistency, quirks, JSON form. */
export { parseEventLog } from './parse.ts';
export { replayEventLog, isExtended } from './replay.ts';
export { EV, eventTypeName, PCR_INDEX_NOT_EXTENDED, MAX_PCR_INDEX } from './event-types.ts';
export type * from './types.ts';
export { checkDigestConsistency, checkDigestConsistencyDetailed, dataVerified, type ConsistencyOptions, type ConsistencyReport, type QuirkUse } from './consistency.ts';
export { DIGEST_CONVENTIONS, checkableConvention, type DigestConvention, type DigestForm } from './digest-conventions.ts';
export { DataHashes } from './data-hash.ts';
export { FIRMWARE_QUIRKS, quirksFor, opaqueQuirkFor, type FirmwareQuirk } from './quirks.ts';
export { eventLogToJson, toJsonValue, type EventLogJson, type JsonValue } from './json.ts';
export { describeEvent, describeDecoded } from './describe.ts';
