import { describe, expect, it } from 'vitest';
import { resolveQuotedPcrs } from '../src/appraisal/quoted-pcrs.ts';
import type { ReplayResult } from '../src/eventlog/types.ts';
import { type PcrBanks, type TPML_PCR_SELECTION, computePcrDigest, parsePublic, parseTpmsAttest, verifyQuote } from '../src/tpm/index.ts';
import { toHex } from '../src/util/encoding.ts';
import { fakePcrs, haveGce, loadGce } from './helpers/tpm-fixtures.ts';

const sel: TPML_PCR_SELECTION = [
  { hash: 'sha1', pcrs: [0, 10], sizeofSelect: 3 },
  { hash: 'sha256', pcrs: [0, 4, 10], sizeofSelect: 3 },
];
/** What the TPM holds. */
const quoted = fakePcrs({ sha1: [0, 10], sha256: [0, 4, 10] });
const quoteDigest = computePcrDigest(sel, quoted, 'sha256');

function replayOf(banks: PcrBanks, unreplayable: ReplayResult['unreplayable'] = []): ReplayResult {
  return { pcrs: banks, unreplayable };
}
/** The log covers PCR 0 and 4 (both banks where quoted), not PCR 10 (IMA). */
const logCovers = (): PcrBanks => ({
  sha1: new Map([[0, quoted.sha1!.get(0)!]]),
  sha256: new Map([
    [0, quoted.sha256!.get(0)!],
    [4, quoted.sha256!.get(4)!],
  ]),
});
const codes = (f: { code: string }[]): string[] => f.map((x) => x.code).sort();

describe('resolveQuotedPcrs (contract §3.2)', () => {
  it('log-covered PCRs come from the replay, the rest from the claims; a matching digest gives no findings', () => {
    const r = resolveQuotedPcrs(sel, replayOf(logCovers()), quoted, quoteDigest, 'sha256');
    expect(r.findings).toEqual([]);
    expect(r.source.sha256?.get(0)).toBe('log');
    expect(r.source.sha256?.get(4)).toBe('log');
    expect(r.source.sha256?.get(10)).toBe('claimed');
    expect(r.source.sha1?.get(10)).toBe('claimed');
    expect(toHex(computePcrDigest(sel, r.values, 'sha256'))).toBe(toHex(quoteDigest));
  });

  it('claims cannot override the log: a covered PCR takes its replay whatever is claimed', () => {
    // Host claims a different PCR 4 than the log replays, and the quote agrees with the replay.
    const claimed = fakePcrs({ sha1: [0, 10], sha256: [0, 4, 10] });
    claimed.sha256!.set(4, new Uint8Array(32).fill(0xee));
    const r = resolveQuotedPcrs(sel, replayOf(logCovers()), claimed, quoteDigest, 'sha256');
    expect(r.findings).toEqual([]);
    expect(r.values.sha256?.get(4)).toEqual(quoted.sha256!.get(4));
  });

  it('log tampering: claims reproduce the quote but the replay differs -> pcr_replay_mismatch per PCR', () => {
    const tampered = logCovers();
    tampered.sha256!.set(4, new Uint8Array(32).fill(0x44));
    const r = resolveQuotedPcrs(sel, replayOf(tampered), quoted, quoteDigest, 'sha256');
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'pcr_replay_mismatch',
        pcr: 4,
        bank: 'sha256',
        expected: toHex(quoted.sha256!.get(4)!),
        actual: '44'.repeat(32),
      }),
    ]);
  });

  it('neither the resolved nor the claimed values reproduce the quote -> pcr_digest_mismatch', () => {
    const tampered = logCovers();
    tampered.sha256!.set(4, new Uint8Array(32).fill(0x44));
    const claimed = fakePcrs({ sha1: [0, 10], sha256: [0, 4, 10] }, 9);
    const r = resolveQuotedPcrs(sel, replayOf(tampered), claimed, quoteDigest, 'sha256');
    expect(codes(r.findings)).toEqual(['pcr_digest_mismatch']);
    expect(r.findings[0]?.expected).toBe(toHex(quoteDigest));
    // Without claims at all, the same.
    const r2 = resolveQuotedPcrs(sel, replayOf({ ...tampered, sha1: new Map([[0, quoted.sha1!.get(0)!], [10, quoted.sha1!.get(10)!]]), sha256: new Map([...tampered.sha256!, [10, quoted.sha256!.get(10)!]]) }), undefined, quoteDigest, 'sha256');
    expect(codes(r2.findings)).toEqual(['pcr_digest_mismatch']);
  });

  it('a quoted PCR with no value from either source -> pcr_value_missing, and no digest verdict', () => {
    const claimed: PcrBanks = { sha256: new Map([[10, quoted.sha256!.get(10)!]]) };
    const r = resolveQuotedPcrs(sel, replayOf(logCovers()), claimed, quoteDigest, 'sha256');
    expect(r.findings).toEqual([expect.objectContaining({ code: 'pcr_value_missing', pcr: 10, bank: 'sha1' })]);
    const none = resolveQuotedPcrs(sel, undefined, undefined, quoteDigest, 'sha256');
    expect(none.findings.length).toBe(5);
    expect(new Set(codes(none.findings))).toEqual(new Set(['pcr_value_missing']));
  });

  it('no log at all: claims alone decide', () => {
    expect(resolveQuotedPcrs(sel, undefined, quoted, quoteDigest, 'sha256').findings).toEqual([]);
  });

  it('a covered PCR whose bank cannot be replayed -> pcr_bank_unreplayable (claims fill the digest)', () => {
    const replay = replayOf(logCovers(), [{ bank: 'sha1', pcr: 0, eventIndex: 12 }]);
    replay.pcrs.sha1!.delete(0);
    const r = resolveQuotedPcrs(sel, replay, quoted, quoteDigest, 'sha256');
    expect(r.findings).toEqual([expect.objectContaining({ code: 'pcr_bank_unreplayable', pcr: 0, bank: 'sha1', eventIndex: 12 })]);
    expect(r.source.sha1?.get(0)).toBe('claimed');
    const withoutClaims = resolveQuotedPcrs(sel, replay, { sha1: new Map([[10, quoted.sha1!.get(10)!]]), sha256: quoted.sha256 }, quoteDigest, 'sha256');
    expect(codes(withoutClaims.findings)).toEqual(['pcr_bank_unreplayable']);
  });
});

describe.skipIf(!haveGce)('resolveQuotedPcrs on the real GCE attestation (fixture folder ../shared absent?)', () => {
  it('replaying the real event log + claimed values for PCRs it does not cover reproduces all three quotes', async () => {
    const { parseEventLog, replayEventLog } = await import('../src/eventlog/index.ts');
    const gce = loadGce();
    const replay = replayEventLog(parseEventLog(gce.eventLog));
    const akPub = parsePublic(gce.akBytes);
    for (const q of gce.quotes) {
      const attest = parseTpmsAttest(q.attest);
      if (attest.attested.kind !== 'quote') throw new Error('not a quote');
      const r = resolveQuotedPcrs(attest.attested.pcrSelect, replay, q.pcrs, attest.attested.pcrDigest, 'sha256');
      expect(r.findings, q.prefix).toEqual([]);
      // The firmware PCRs come from the log; PCR 10 (IMA) is not in the firmware log.
      expect(r.source[q.bank]?.get(0)).toBe('log');
      expect(r.source[q.bank]?.get(10)).toBe('claimed');
      expect(verifyQuote({ akPub, quote: q.attest, signature: q.signature, expectedExtraData: Uint8Array.of(0x90, 0x09), pcrValues: r.values }).ok).toBe(true);
      // A host that lies about PCR 4 while the log replays it honestly changes nothing.
      const lying: PcrBanks = { [q.bank]: new Map(q.pcrs[q.bank]) };
      lying[q.bank]!.set(4, new Uint8Array(lying[q.bank]!.get(4)!.length));
      expect(resolveQuotedPcrs(attest.attested.pcrSelect, replay, lying, attest.attested.pcrDigest, 'sha256').findings).toEqual([]);
    }
  });
});
