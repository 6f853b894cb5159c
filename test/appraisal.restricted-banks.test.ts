/**
 * The appraisal computes only what its verdict reads: the appraised and claimed banks offline
 * (other banks replayed when `pcrs` is read), grub-prefix quirks tried before the genuine forms,
 * dbx ids compared as bytes. Each shortcut must be invisible: on every real log, the outcome equals
 * the one from a full preparation (every bank replayed and checked), the consistency report equals
 * a naive check (genuine forms, then quirks, in table order), and dbx membership equals hex-id
 * membership.
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence, type AppraisalOutcome, type EvidenceInput } from '../src/appraisal/pipeline.ts';
import { prepareLog, type LogPreparer } from '../src/appraisal/prepared-log.ts';
import { renderedIds, requiredIdBytes, SignatureIdSet } from '../src/appraisal/signature-ids.ts';
import { checkableConvention, checkDigestConsistencyDetailed, parseEventLog, quirksFor, replayEventLog, type EventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/index.ts';
import { HASH_ALGS, type HashAlg } from '../src/tpm/alg.ts';
import { toHex } from '../src/util/encoding.ts';
import { haveSharedFixtures, realLogs, SHARED_FIXTURES_MISSING } from './helpers/fixtures.ts';

/** Replays and checks every bank, whatever the pipeline asks for. */
const fullPreparer: LogPreparer = {
  prepare: (eventLog) => ({ prepared: prepareLog(eventLog, undefined, [...HASH_ALGS]), cached: false }),
};

function visible(o: AppraisalOutcome) {
  return { verdict: o.verdict, profile: o.profile, failures: o.failures, pcrs: o.pcrs, unverifiedData: o.unverifiedData };
}

function parsed(): { name: string; bytes: Uint8Array; log: EventLog }[] {
  if (!haveSharedFixtures()) throw new Error(SHARED_FIXTURES_MISSING);
  const out = [];
  for (const real of realLogs()) {
    const bytes = new Uint8Array(readFileSync(real.path));
    try {
      out.push({ name: real.name, bytes, log: parseEventLog(bytes) });
    } catch {
      // logs that do not parse are covered by the hostile-input tests
    }
  }
  expect(out.length).toBeGreaterThan(10);
  return out;
}

/** The consistency check before the shortcut: every genuine form in order, then every quirk in table order. */
function naiveConsistency(log: EventLog) {
  const mismatches: { eventIndex: number; bank: HashAlg }[] = [];
  const quirksApplied: { eventIndex: number; bank: HashAlg; quirkId: string }[] = [];
  for (const e of log.events) {
    const c = checkableConvention(e);
    if (c === undefined) continue;
    for (const [bank, logged] of Object.entries(e.digests) as [HashAlg, Uint8Array][]) {
      const same = (b: Uint8Array) => hash(bank, b, 'hex') === toHex(logged);
      if (c.forms.some((f) => { const b = f.bytes(e); return b !== null && same(b); })) continue;
      const q = quirksFor(e).find((q) => { try { return (q.alternatives?.(e) ?? []).some(same); } catch { return false; } });
      if (q !== undefined) quirksApplied.push({ eventIndex: e.index, bank, quirkId: q.id });
      else mismatches.push({ eventIndex: e.index, bank });
    }
  }
  return { mismatches, quirksApplied };
}

describe('restricted appraisal equals the full one', () => {
  it.skipIf(!haveSharedFixtures())('on every real log, offline, for a profile of each bank, with and without a wrong claimed value in another bank', () => {
    let compared = 0;
    let claimedMismatches = 0;
    for (const { name, bytes, log } of parsed()) {
      const replay = replayEventLog(log);
      for (const bank of log.banks) {
        if ((replay.pcrs[bank]?.size ?? 0) === 0 || replay.unreplayable.some((u) => u.bank === bank)) continue; // nothing to learn in this bank
        const profile = learnProfile(log, replay, { name: 'learned', bank });
        const other = log.banks.find((b) => b !== bank);
        const claims: EvidenceInput[] = [{ eventLog: bytes, profiles: [profile] }];
        if (other !== undefined && replay.pcrs[other]?.has(0) === true) {
          // A claimed value the log contradicts, in a bank the profile does not appraise: the verdict reads it.
          claims.push({ eventLog: bytes, profiles: [profile], claimedPcrs: { [other]: new Map([[0, new Uint8Array(replay.pcrs[other]!.get(0)!.length)]]) } });
        }
        for (const input of claims) {
          const lean = appraiseEvidence(input);
          const full = appraiseEvidence({ ...input, logPreparer: fullPreparer });
          expect(JSON.stringify(visible(lean)), `${name} ${bank}`).toBe(JSON.stringify(visible(full)));
          // `pcrs` still reports every bank of the log.
          expect(Object.keys(lean.pcrs).sort(), name).toEqual(log.banks.filter((b) => (replay.pcrs[b]?.size ?? 0) > 0).sort());
          if (input.claimedPcrs !== undefined) {
            expect(lean.failures.some((f) => f.code === 'pcr_replay_mismatch' && f.bank === other), name).toBe(true);
            claimedMismatches++;
          }
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(20);
    expect(claimedMismatches).toBeGreaterThan(5);
  });

  it.skipIf(!haveSharedFixtures())('the consistency report (quirks tried first where they apply) equals the naive check on every real log', () => {
    let quirks = 0;
    for (const { name, log } of parsed()) {
      const report = checkDigestConsistencyDetailed(log);
      const naive = naiveConsistency(log);
      expect(report.mismatches.map((m) => ({ eventIndex: m.eventIndex, bank: m.bank })), name).toEqual(naive.mismatches);
      expect(report.quirksApplied, name).toEqual(naive.quirksApplied);
      for (const bank of log.banks) {
        const one = checkDigestConsistencyDetailed(log, { banks: [bank] });
        expect(one.mismatches, `${name} ${bank}`).toEqual(report.mismatches.filter((m) => m.bank === bank));
        expect(one.quirksApplied, `${name} ${bank}`).toEqual(report.quirksApplied.filter((q) => q.bank === bank));
      }
      quirks += naive.quirksApplied.length;
    }
    expect(quirks).toBeGreaterThan(50);
  });

  it.skipIf(!haveSharedFixtures())('signature-id membership by bytes equals membership by hex id, for every Secure Boot database in the real logs', () => {
    let checked = 0;
    for (const { name, log } of parsed()) {
      for (const e of log.events) {
        if (e.decoded.kind !== 'efi_variable' || e.decoded.signatureLists === undefined) continue;
        const lists = e.decoded.signatureLists;
        const rendered = renderedIds(lists);
        const set = new SignatureIdSet(lists);
        // Present ids, the same ids one nibble off, upper-cased, and truncated: all must agree.
        const probes = [...rendered].flatMap((id) => [id, `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`, id.toUpperCase(), id.slice(0, 8), `${id}00`]);
        const bytes = requiredIdBytes(probes);
        probes.forEach((id, i) => expect(set.has(id, bytes[i] ?? null), `${name} event ${e.index} ${id}`).toBe(rendered.has(id)));
        checked += probes.length;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
