/**
 * A short JSON form of an event's decoded data, for answers that list many events (the `changes`
 * diff): what an operator reads (variable name, path, version text, certificate subjects), never
 * the raw bytes, and bounded in size whatever the log holds.
 */
import { devicePathText } from './decode/device-path.ts';
import type { JsonValue } from './json.ts';
import type { TcgEvent } from './types.ts';

const MAX_TEXT = 1024;
const MAX_ENTRIES = 64;

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

function signatures(lists: NonNullable<Extract<TcgEvent['decoded'], { kind: 'efi_variable' }>['signatureLists']>): { [k: string]: JsonValue } {
  const certificates: JsonValue[] = [];
  let hashes = 0;
  for (const l of lists) {
    for (const s of l.signatures) {
      if (l.signatureTypeName !== 'x509') hashes++;
      else if (certificates.length < MAX_ENTRIES) {
        certificates.push({ ...(s.certSha256 !== undefined ? { sha256: s.certSha256 } : {}), ...(s.subject !== undefined ? { subject: clip(s.subject) } : {}) });
      }
    }
  }
  return { ...(certificates.length > 0 ? { certificates } : {}), ...(hashes > 0 ? { hashes } : {}) };
}

/** Decoded data worth showing, or undefined when the parser has none for this event. */
export function briefEventData(ev: TcgEvent): { [k: string]: JsonValue } | undefined {
  const d = ev.decoded;
  switch (d.kind) {
    case 'efi_variable': {
      const out: { [k: string]: JsonValue } = { variable: d.name, guid: d.variableGuid };
      if (d.enabled !== undefined) out.enabled = d.enabled;
      if (d.bootOrder !== undefined) out.bootOrder = d.bootOrder.slice(0, MAX_ENTRIES).map((n) => n.toString(16).padStart(4, '0').toUpperCase());
      if (d.loadOption !== undefined) out.loadOption = { description: clip(d.loadOption.description), path: clip(devicePathText(d.loadOption.devicePath)) };
      if (d.signatureLists !== undefined) Object.assign(out, signatures(d.signatureLists));
      if (d.signatureData !== undefined) {
        out.signature = {
          owner: d.signatureData.owner,
          ...(d.signatureData.certSha256 !== undefined ? { sha256: d.signatureData.certSha256 } : {}),
          ...(d.signatureData.subject !== undefined ? { subject: clip(d.signatureData.subject) } : {}),
        };
      }
      return out;
    }
    case 'image_load': {
      const path = d.path ?? devicePathText(d.devicePath);
      return { ...(path !== '' ? { path: clip(path) } : {}), length: d.imageLengthInMemory.toString() };
    }
    case 'firmware_blob':
      return { base: `0x${d.base.toString(16)}`, length: d.length.toString(), ...(d.description !== undefined ? { description: clip(d.description) } : {}) };
    case 'text':
      return { text: clip(d.text) };
    case 'hcrtm':
      return { text: clip(d.text) };
    case 'separator':
      return { value: d.value, ...(d.isError ? { error: true } : {}) };
    case 'gpt':
      return { diskGuid: d.diskGuid, partitions: d.partitions.slice(0, MAX_ENTRIES).map((p) => clip(p.name || p.typeGuid)) };
    default:
      return undefined;
  }
}
