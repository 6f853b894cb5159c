/** One-line human summaries of decoded events (CLI tables, finding messages). */
import { toHex } from '../util/encoding.ts';
import { devicePathText } from './decode/device-path.ts';
import type { DecodedEvent, TcgEvent } from './types.ts';

const MAX = 100;

function clip(s: string, max = MAX): string {
  const flat = s.replace(/[\r\n\t]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function describeDecoded(d: DecodedEvent): string {
  switch (d.kind) {
    case 'efi_variable': {
      if (d.enabled !== undefined) return `${d.name} = ${d.enabled === null ? '(empty)' : d.enabled ? 'enabled' : 'disabled'}`;
      if (d.signatureLists !== undefined) {
        const n = d.signatureLists.reduce((k, l) => k + l.signatures.length, 0);
        const subjects = d.signatureLists.flatMap((l) => l.signatures.map((s) => s.subject?.replace(/^.*CN=/, '')).filter((x): x is string => x !== undefined));
        return clip(`${d.name}: ${n} entries${subjects.length > 0 ? ` (${subjects.join('; ')})` : ''}`);
      }
      if (d.signatureData !== undefined) return clip(`${d.name}: ${d.signatureData.subject ?? d.signatureData.certSha256 ?? `${d.signatureData.data.length} bytes`}`);
      if (d.bootOrder !== undefined) return `${d.name} = ${d.bootOrder.map((n) => n.toString(16).padStart(4, '0').toUpperCase()).join(',')}`;
      if (d.loadOption !== undefined) return clip(`${d.name}: "${d.loadOption.description}" ${devicePathText(d.loadOption.devicePath)}`);
      return `${d.name} (${d.variableData.length} bytes)`;
    }
    case 'image_load':
      return clip(d.path ?? (devicePathText(d.devicePath) || `image of ${d.imageLengthInMemory} bytes`));
    case 'firmware_blob':
      return `${d.description !== undefined ? `${d.description} ` : ''}base 0x${d.base.toString(16)} length ${d.length}`;
    case 'text':
      return clip(JSON.stringify(d.text));
    case 'separator':
      return d.value === null ? `separator "${Buffer.from(d.raw).toString('latin1')}"` : `separator ${d.isError ? 'ERROR ' : ''}0x${d.value.toString(16)}`;
    case 'gpt':
      return clip(`disk ${d.diskGuid}: ${d.partitions.map((p) => p.name || p.typeGuid).join(', ')}`);
    case 'spec_id':
      return `Spec ID Event03 v${d.specId.specVersion.major}.${d.specId.specVersion.minor}: ${d.specId.algorithms.map((a) => a.hashAlg ?? `0x${a.algorithmId.toString(16)}`).join(', ')}`;
    case 'startup_locality':
      return `StartupLocality ${d.locality}`;
    case 'sp800_155':
      return `SP800-155 reference manifest (${d.raw.length} bytes)`;
    case 'no_action':
      return `EV_NO_ACTION "${d.signature}"`;
    case 'event_tag':
      return `tag 0x${d.taggedEventId.toString(16)} (${d.data.length} bytes)`;
    case 'hcrtm':
      return `H-CRTM ${JSON.stringify(d.text)}`;
    case 'raw':
      return '';
  }
}

export function describeEvent(e: TcgEvent): string {
  const s = describeDecoded(e.decoded);
  if (s !== '') return s;
  const head = toHex(e.data.subarray(0, 16));
  return `${e.data.length} bytes${e.data.length > 0 ? ` ${head}${e.data.length > 16 ? '…' : ''}` : ''}${e.decodeError !== undefined ? ` (undecoded: ${clip(e.decodeError, 80)})` : ''}`;
}
