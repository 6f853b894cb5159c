/** Digest consistency: real logs are clean (with the documented quirks), tampered data is caught. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EV, FIRMWARE_QUIRKS, checkDigestConsistency, checkDigestConsistencyDetailed, parseEventLog } from '../src/eventlog/index.ts';
import { toHex } from '../src/util/encoding.ts';
import { GCE_ATTESTATION_DIR, SHARED_FIXTURES_MISSING, haveSharedFixtures, readFixture, realLogs } from './helpers/fixtures.ts';

const have = haveSharedFixtures();
if (!have) console.warn(`eventlog.consistency: ${SHARED_FIXTURES_MISSING}`);

const GT = 'go-tpm-tools/internal/test/eventlogs/';

function quirkIds(rel: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const u of checkDigestConsistencyDetailed(parseEventLog(readFixture(rel))).quirksApplied) {
    const list = (out[u.quirkId] ??= []);
    if (!list.includes(u.eventIndex)) list.push(u.eventIndex);
  }
  return out;
}

describe('FIRMWARE_QUIRKS table', () => {
  it('names the source, PCRs, event types and accepted form of every quirk', () => {
    const ids = new Set<string>();
    for (const q of FIRMWARE_QUIRKS) {
      expect(ids.has(q.id)).toBe(false);
      ids.add(q.id);
      expect(q.source.length).toBeGreaterThan(10);
      expect(q.pcrs.length).toBeGreaterThan(0);
      expect(q.eventTypes.length).toBeGreaterThan(0);
      expect(q.accepted.length).toBeGreaterThan(5);
      if (q.kind === 'digest') expect(typeof q.alternatives).toBe('function');
      if (q.kind === 'opaque') expect(typeof q.appliesTo).toBe('function');
    }
  });
});

describe.skipIf(!have)('digest consistency of real logs', () => {
  for (const real of [...realLogs().map((r) => r.name), `${GCE_ATTESTATION_DIR}/event_log.bin`, 'tpm2-tools/test/integration/fixtures/specid-vendordata.bin']) {
    it(`${real}: no digest mismatches`, () => {
      expect(checkDigestConsistency(parseEventLog(readFixture(real)))).toEqual([]);
    });
  }

  it('explains the quirky events by the table entry that accepts them', () => {
    expect(quirkIds('go-attestation/attest/testdata/sb_cert_eventlog')).toEqual({ 'shim-authority-extra-byte': [12, 14] });
    expect(quirkIds(`${GT}debian-10.bin`)['shim-authority-extra-byte']).toEqual([23]);
    expect(quirkIds(`${GT}arch-linux-workstation.bin`)).toEqual({ 'systemd-boot-cmdline-short-eventsize': [24] });
    const rhel = quirkIds(`${GT}rhel8-uefi.bin`);
    expect(rhel['grub-ipl-prefix-with-nul']?.length).toBeGreaterThan(40);
    expect(rhel['grub-ipl-prefix-no-nul']).toEqual([78]);
    // Boot#### measured the EDK2 way (VariableData only) is a genuine form, not a quirk.
    expect(rhel['variable-boot-data-only']).toBeUndefined();
    expect(Object.keys(quirkIds(`${GT}ubuntu-2104-no-secure-boot.bin`)).sort()).toEqual(['grub-ipl-prefix-no-nul']);
    expect(quirkIds(`${GT}glinux-alex.bin`)).toEqual({});
  });

  it('reports a separator whose data was changed, at its index, with logged and computed digests', () => {
    const bytes = readFixture(`${GT}rhel8-uefi.bin`).slice();
    const sep = parseEventLog(bytes).events.find((e) => e.type === EV.EV_SEPARATOR && e.pcr === 4)!;
    const at = bytes.byteOffset + (sep.data.byteOffset - bytes.byteOffset);
    bytes[at] = 0x01; // separator value 0 -> 1 (error), digests untouched
    const mismatches = checkDigestConsistency(parseEventLog(bytes));
    expect(mismatches.map((m) => [m.eventIndex, m.pcr, m.typeName, m.bank])).toEqual([
      [sep.index, 4, 'EV_SEPARATOR', 'sha1'],
      [sep.index, 4, 'EV_SEPARATOR', 'sha256'],
      [sep.index, 4, 'EV_SEPARATOR', 'sha384'],
    ]);
    const sha256 = mismatches.find((m) => m.bank === 'sha256')!;
    expect(sha256.logged).toBe(toHex(sep.digests.sha256!));
    expect(sha256.computed).toBe(createHash('sha256').update(Uint8Array.of(1, 0, 0, 0)).digest('hex'));
  });

  it('reports a kernel command line edited in the log (quirks do not hide it)', () => {
    const bytes = readFixture(`${GT}ubuntu-2104-no-secure-boot.bin`).slice();
    const ev = parseEventLog(bytes).events.find((e) => e.pcr === 8 && Buffer.from(e.data).toString('latin1').startsWith('kernel_cmdline: '))!;
    const text = Buffer.from(ev.data).toString('latin1');
    const pos = text.indexOf(' ro');
    expect(pos).toBeGreaterThan(0);
    bytes[ev.data.byteOffset - bytes.byteOffset + pos + 2] = 'w'.charCodeAt(0); // " ro" -> " rw"
    const mismatches = checkDigestConsistency(parseEventLog(bytes));
    expect(mismatches.map((m) => m.eventIndex)).toEqual([ev.index, ev.index, ev.index]);
    expect(mismatches.every((m) => m.pcr === 8 && m.typeName === 'EV_IPL')).toBe(true);
  });

  it('reports a SecureBoot variable flipped in the log', () => {
    const bytes = readFixture(`${GT}rhel8-uefi.bin`).slice();
    const sb = parseEventLog(bytes).events[3]!;
    bytes[sb.data.byteOffset - bytes.byteOffset + sb.data.length - 1] = 0;
    expect(checkDigestConsistency(parseEventLog(bytes)).map((m) => m.eventIndex)).toEqual([3, 3, 3]);
  });
});
