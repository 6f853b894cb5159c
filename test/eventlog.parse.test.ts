/** Parser and replay rules on small synthetic logs built field by field (little-endian TCG structures). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../src/util/bytes.ts';
import { ParseError } from '../src/util/errors.ts';
import { EV, checkDigestConsistency, eventLogToJson, eventTypeName, parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { toHex } from '../src/util/encoding.ts';

const sha = (alg: string, ...parts: Uint8Array[]): Uint8Array => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** TCG_PCR_EVENT carrying TCG_EfiSpecIdEvent for the given (algId, digestSize) list. */
function specIdEvent(algs: [number, number][], vendorInfo = new Uint8Array()): Uint8Array {
  const body = new ByteWriter('le').bytes(ascii('Spec ID Event03\0')).u32(0).u8(0).u8(2).u8(0).u8(2).u32(algs.length);
  for (const [id, size] of algs) body.u16(id).u16(size);
  const data = body.u8(vendorInfo.length).bytes(vendorInfo).finish();
  return new ByteWriter('le').u32(0).u32(EV.EV_NO_ACTION).bytes(new Uint8Array(20)).u32(data.length).bytes(data).finish();
}

/** TCG_PCR_EVENT2 with the given digests (algId, bytes). */
function event2(pcr: number, type: number, digests: [number, Uint8Array][], data: Uint8Array): Uint8Array {
  const w = new ByteWriter('le').u32(pcr).u32(type).u32(digests.length);
  for (const [id, d] of digests) w.u16(id).bytes(d);
  return w.u32(data.length).bytes(data).finish();
}

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const w = new ByteWriter('le');
  for (const p of parts) w.bytes(p);
  return w.finish();
};

const SHA1 = 0x0004;
const SHA256 = 0x000b;
const both = (data: Uint8Array): [number, Uint8Array][] => [[SHA1, sha('sha1', data)], [SHA256, sha('sha256', data)]];

describe('crypto-agile parsing rules', () => {
  it('skips digests of algorithms it cannot hash by their declared size', () => {
    const SM3 = 0x0012;
    const sep = new Uint8Array(4);
    const log = parseEventLog(cat(specIdEvent([[SHA256, 32], [SM3, 32]]), event2(0, EV.EV_SEPARATOR, [[SHA256, sha('sha256', sep)], [SM3, new Uint8Array(32).fill(7)]], sep)));
    expect(log.banks).toEqual(['sha256']);
    expect(log.specId!.algorithms).toEqual([{ algorithmId: SHA256, digestSize: 32, hashAlg: 'sha256' }, { algorithmId: SM3, digestSize: 32 }]);
    expect(Object.keys(log.events[1]!.digests)).toEqual(['sha256']);
    expect(toHex(replayEventLog(log).pcrs.sha256!.get(0)!)).toBe(toHex(sha('sha256', new Uint8Array(32), sha('sha256', sep))));
  });

  it('refuses a digest whose algorithm the header does not declare', () => {
    const bytes = cat(specIdEvent([[SHA256, 32]]), event2(0, EV.EV_SEPARATOR, [[SHA1, new Uint8Array(20)]], new Uint8Array(4)));
    expect(() => parseEventLog(bytes)).toThrow(ParseError);
    expect(() => parseEventLog(bytes)).toThrow(/TCG_PCR_EVENT2\.digests\[0\]\.hashAlg at offset \d+: algorithm 0x4 is not declared/);
  });

  it('refuses a header digestSize that contradicts the algorithm', () => {
    expect(() => parseEventLog(specIdEvent([[SHA256, 20]]))).toThrow(/digestSize/);
  });

  it('refuses a digest count larger than the declared algorithms, and huge counts, without allocating', () => {
    const ev = event2(0, EV.EV_SEPARATOR, both(new Uint8Array(4)), new Uint8Array(4));
    new DataView(ev.buffer).setUint32(8, 0xc0000000, true);
    expect(() => parseEventLog(cat(specIdEvent([[SHA1, 20], [SHA256, 32]]), ev))).toThrow(/digests\.count/);
  });

  it('refuses PCR indexes above 23 but keeps 0xFFFFFFFF entries unextended', () => {
    const data = ascii('x');
    expect(() => parseEventLog(cat(specIdEvent([[SHA256, 32]]), event2(24, EV.EV_IPL, [[SHA256, sha('sha256', data)]], data)))).toThrow(/PCR index 24/);
    const log = parseEventLog(cat(specIdEvent([[SHA256, 32]]), event2(0xffffffff, EV.EV_EVENT_TAG, [[SHA256, sha('sha256', data)]], data)));
    expect(replayEventLog(log).pcrs.sha256!.size).toBe(0);
  });

  it('names unknown event types', () => {
    expect(eventTypeName(0x1234)).toBe('EV_UNKNOWN_0x00001234');
    expect(eventTypeName(EV.EV_EFI_VARIABLE_AUTHORITY)).toBe('EV_EFI_VARIABLE_AUTHORITY');
  });
});

describe('replay initial values', () => {
  const algs: [number, number][] = [[SHA1, 20], [SHA256, 32]];

  it('PCRs 17-22 start at all ones, others at zero', () => {
    const d = ascii('drtm');
    const log = parseEventLog(cat(specIdEvent(algs), event2(17, EV.EV_IPL, both(d), d), event2(23, EV.EV_IPL, both(d), d)));
    const r = replayEventLog(log);
    expect(toHex(r.pcrs.sha256!.get(17)!)).toBe(toHex(sha('sha256', new Uint8Array(32).fill(0xff), sha('sha256', d))));
    expect(toHex(r.pcrs.sha256!.get(23)!)).toBe(toHex(sha('sha256', new Uint8Array(32), sha('sha256', d))));
  });

  it('StartupLocality sets the last byte of PCR 0 before the first extend, and is never extended itself', () => {
    const loc = cat(ascii('StartupLocality\0'), Uint8Array.of(3));
    const crtm = ascii('v1');
    const noAction: [number, Uint8Array][] = [[SHA1, new Uint8Array(20)], [SHA256, new Uint8Array(32)]];
    const log = parseEventLog(cat(specIdEvent(algs), event2(0, EV.EV_NO_ACTION, noAction, loc), event2(0, EV.EV_S_CRTM_VERSION, both(crtm), crtm)));
    const r = replayEventLog(log);
    expect(r.startupLocality).toBe(3);
    const init = new Uint8Array(32);
    init[31] = 3;
    expect(toHex(r.pcrs.sha256!.get(0)!)).toBe(toHex(sha('sha256', init, sha('sha256', crtm))));
  });

  it('an H-CRTM event starts PCR 0 at locality 4 and is extended as the first measurement', () => {
    const hcrtmDigest = sha('sha256', ascii('the H-CRTM code'));
    const log = parseEventLog(cat(specIdEvent([[SHA256, 32]]), event2(0, EV.EV_EFI_HCRTM_EVENT, [[SHA256, hcrtmDigest]], ascii('HCRTM'))));
    expect(log.events[1]!.decoded).toEqual({ kind: 'hcrtm', text: 'HCRTM' });
    const init = new Uint8Array(32);
    init[31] = 4;
    expect(toHex(replayEventLog(log).pcrs.sha256!.get(0)!)).toBe(toHex(sha('sha256', init, hcrtmDigest)));
  });

  it('a bank missing from one event makes only that (bank, PCR) unreplayable', () => {
    const d = ascii('x');
    const log = parseEventLog(cat(specIdEvent(algs), event2(4, EV.EV_IPL, [[SHA256, sha('sha256', d)]], d), event2(5, EV.EV_IPL, both(d), d)));
    const r = replayEventLog(log);
    expect(r.unreplayable).toEqual([{ bank: 'sha1', pcr: 4, eventIndex: 1 }]);
    expect(r.pcrs.sha1!.has(4)).toBe(false);
    expect(r.pcrs.sha1!.has(5)).toBe(true);
    expect(r.pcrs.sha256!.has(4)).toBe(true);
    expect(eventLogToJson(log, r).pcrs.sha1).toEqual({ '5': toHex(r.pcrs.sha1!.get(5)!) });
  });
});

describe('eventLogToJson', () => {
  it('produces the contract shape with JSON-friendly decoded data', () => {
    const blob = new ByteWriter('le').u64(0x820000n).u64(917504n).finish();
    const sep = new Uint8Array(4);
    const log = parseEventLog(cat(specIdEvent([[SHA256, 32]]), event2(0, EV.EV_EFI_PLATFORM_FIRMWARE_BLOB, [[SHA256, sha('sha256', ascii('fw'))]], blob), event2(0, EV.EV_SEPARATOR, [[SHA256, sha('sha256', sep)]], sep)));
    const json = eventLogToJson(log, replayEventLog(log));
    expect(Object.keys(json)).toEqual(['format', 'events', 'pcrs']);
    expect(json.format).toBe('crypto-agile');
    expect(json.events[1]).toEqual({
      index: 1,
      pcr: 0,
      type: 'EV_EFI_PLATFORM_FIRMWARE_BLOB',
      digests: { sha256: toHex(sha('sha256', ascii('fw'))) },
      data: { kind: 'firmware_blob', base: String(0x820000), length: '917504' },
    });
    expect(json.events[2]!.data).toEqual({ kind: 'separator', value: 0, isError: false, raw: '00000000' });
    expect(Object.keys(json.pcrs)).toEqual(['sha256']);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(checkDigestConsistency(log)).toEqual([]);
  });
});
