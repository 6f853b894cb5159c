/**
 * Every scenario boots, and its evidence differs from a clean host's exactly where the scenario
 * table says: per-PCR TPM values in every bank, the event log's replay, and the events themselves.
 */
import { describe, expect, it } from 'vitest';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { parsePublic, verifyQuote } from '../src/tpm/index.ts';
import { toHex } from '../src/util/encoding.ts';
import { PCR_COUNT, SCENARIOS, SCENARIO_NAMES, SIM_BANKS, createSimHost, type ScenarioName, type SimHost } from '../tpm-sim/index.ts';

const make = (scenario: ScenarioName): SimHost => createSimHost({ scenario, ekType: 'ecc', akType: 'ecc' });
const clean = make('clean');

function tpmDiff(a: SimHost, b: SimHost): number[] {
  const out = new Set<number>();
  for (const bank of SIM_BANKS) {
    for (let pcr = 0; pcr < PCR_COUNT; pcr++) if (toHex(a.tpm.pcrs.read(bank, pcr)) !== toHex(b.tpm.pcrs.read(bank, pcr))) out.add(pcr);
  }
  return [...out].sort((x, y) => x - y);
}

function replayDiff(a: Uint8Array, b: Uint8Array): number[] {
  const ra = replayEventLog(parseEventLog(a));
  const rb = replayEventLog(parseEventLog(b));
  const out = new Set<number>();
  for (const bank of SIM_BANKS) {
    for (const [pcr, v] of ra.pcrs[bank] ?? []) if (toHex(v) !== toHex(rb.pcrs[bank]?.get(pcr) ?? new Uint8Array())) out.add(pcr);
  }
  return [...out].sort((x, y) => x - y);
}

const typesOf = (h: SimHost) => parseEventLog(h.eventLog).events.map((e) => `${e.pcr}:${e.typeName}`);

describe('scenario table', () => {
  it('covers exactly the TEAM.md scenarios, each with codes and a description', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual([...SCENARIO_NAMES].sort());
    expect(SCENARIOS.clean.expectedCodes).toEqual([]);
    for (const s of SCENARIO_NAMES.filter((n) => n !== 'clean')) {
      expect(SCENARIOS[s].expectedCodes.length, s).toBe(1);
      expect(SCENARIOS[s].description.length, s).toBeGreaterThan(20);
    }
  });

  it('two clean hosts measure identically (different keys, same boot)', () => {
    const other = make('clean');
    expect(tpmDiff(clean, other)).toEqual([]);
    expect(toHex(other.eventLog)).toBe(toHex(clean.eventLog));
    expect(toHex(other.akName)).not.toBe(toHex(clean.akName));
  });
});

describe.each(SCENARIO_NAMES.filter((s) => !['clean', 'log-tamper', 'hidden-measurement', 'replayed-quote'].includes(s)))('%s', (s) => {
  const h = make(s);
  it(`TPM PCRs and log replay differ from clean only at ${JSON.stringify(SCENARIOS[s].pcrs)}`, () => {
    expect(tpmDiff(h, clean)).toEqual(SCENARIOS[s].pcrs);
    expect(replayDiff(h.eventLog, clean.eventLog)).toEqual(SCENARIOS[s].pcrs);
  });
});

describe('scenario details', () => {
  it('option-rom-implant adds one EV_EFI_BOOT_SERVICES_DRIVER with a PCI device path in PCR 2', () => {
    const log = parseEventLog(make('option-rom-implant').eventLog);
    const drivers = log.events.filter((e) => e.typeName === 'EV_EFI_BOOT_SERVICES_DRIVER');
    expect(drivers.map((e) => e.pcr)).toEqual([2]);
    const d = drivers[0]?.decoded;
    expect(d?.kind === 'image_load' && d.devicePath.some((n) => n.type === 1 && n.subType === 1)).toBe(true);
  });

  it('secure-boot-off: SecureBoot = 0 and no EV_EFI_VARIABLE_AUTHORITY events', () => {
    const log = parseEventLog(make('secure-boot-off').eventLog);
    const sb = log.events.find((e) => e.decoded.kind === 'efi_variable' && e.decoded.name === 'SecureBoot');
    expect(sb?.decoded.kind === 'efi_variable' && sb.decoded.enabled).toBe(false);
    expect(typesOf(make('secure-boot-off')).filter((t) => t.endsWith('EV_EFI_VARIABLE_AUTHORITY'))).toEqual([]);
    expect(typesOf(clean).filter((t) => t.endsWith('EV_EFI_VARIABLE_AUTHORITY')).length).toBe(3);
  });

  it('db-key-added has one more X.509 signature list in db; dbx-rollback one hash fewer in dbx', () => {
    const lists = (h: SimHost, name: string) => {
      const e = parseEventLog(h.eventLog).events.find((x) => x.decoded.kind === 'efi_variable' && x.decoded.name === name && x.pcr === 7 && x.typeName === 'EV_EFI_VARIABLE_DRIVER_CONFIG');
      return e?.decoded.kind === 'efi_variable' ? (e.decoded.signatureLists ?? []) : [];
    };
    expect(lists(make('db-key-added'), 'db').length).toBe(lists(clean, 'db').length + 1);
    const count = (h: SimHost) => lists(h, 'dbx').reduce((n, l) => n + l.signatures.length, 0);
    expect(count(make('dbx-rollback'))).toBe(count(clean) - 1);
  });

  it('cmdline-tamper changes only the kernel_cmdline event, which ends in init=/bin/sh', () => {
    const a = parseEventLog(make('cmdline-tamper').eventLog).events;
    const b = parseEventLog(clean.eventLog).events;
    const changed = a.filter((e, i) => toHex(e.data) !== toHex(b[i]?.data ?? new Uint8Array()));
    expect(changed.length).toBe(1);
    expect(changed[0]?.decoded.kind === 'text' && changed[0].decoded.text).toMatch(/^kernel_cmdline: .* init=\/bin\/sh$/);
  });

  it('hidden-measurement: only PCR 11 differs in the TPM, and the log is byte-identical to clean', () => {
    const h = make('hidden-measurement');
    expect(tpmDiff(h, clean)).toEqual([11]);
    expect(toHex(h.eventLog)).toBe(toHex(clean.eventLog));
    expect(toHex(h.quote(Uint8Array.of(1)).pcrs.sha256?.get(11) ?? new Uint8Array())).not.toBe('00'.repeat(32));
  });

  it('log-tamper: the TPM is the kernel-swap TPM, but the log replays to clean, so replay != quote at PCRs 4 and 9', () => {
    const h = make('log-tamper');
    const swapped = make('kernel-swap');
    expect(tpmDiff(h, swapped)).toEqual([]);
    expect(tpmDiff(h, clean)).toEqual([4, 9]);
    expect(replayDiff(h.eventLog, clean.eventLog)).toEqual([]);
    const replay = replayEventLog(parseEventLog(h.eventLog));
    const quoted = h.quote(Uint8Array.of(1)).pcrs.sha256;
    const mismatched = [...(replay.pcrs.sha256 ?? new Map<number, Uint8Array>())]
      .filter(([pcr, v]) => toHex(v) !== toHex(quoted?.get(pcr) ?? new Uint8Array()))
      .map(([pcr]) => pcr);
    expect(mismatched).toEqual([4, 9]);
  });

  it('replayed-quote: PCRs are clean; the stale quote verifies for its old nonce and fails a fresh one (nonce_mismatch)', () => {
    const h = make('replayed-quote');
    expect(tpmDiff(h, clean)).toEqual([]);
    const stale = h.staleEvidence();
    expect(stale).toBeDefined();
    if (!stale) return;
    const akPub = parsePublic(h.akPub);
    expect(verifyQuote({ akPub, quote: stale.quote, signature: stale.signature, expectedExtraData: stale.nonce, pcrValues: stale.pcrs }).ok).toBe(true);
    const fresh = verifyQuote({ akPub, quote: stale.quote, signature: stale.signature, expectedExtraData: new Uint8Array(32).fill(9) });
    expect(fresh.failures.map((f) => f.code)).toEqual(['nonce_mismatch']);
    expect(clean.staleEvidence()).toBeUndefined();
  });

  it('a rebooted scenario host keeps its scenario (hidden-measurement re-extends PCR 11)', () => {
    const h = make('hidden-measurement');
    const before = toHex(h.tpm.pcrs.read('sha256', 11));
    h.reboot();
    expect(toHex(h.tpm.pcrs.read('sha256', 11))).toBe(before);
    expect(tpmDiff(h, clean)).toEqual([11]);
  });
});
