/** What each scenario must produce (tpm-sim's SCENARIOS table), and how a result can surprise us. */
import { SCENARIOS, type ScenarioName } from '../../tpm-sim/index.ts';
import type { ApiAppraisal } from './fleet.ts';

export interface Expectation {
  verdict: 'pass' | 'fail';
  /** The exact set of failure codes (empty for a pass). */
  codes: string[];
}

export function expectationFor(scenario: ScenarioName): Expectation {
  const codes = [...SCENARIOS[scenario].expectedCodes].sort();
  return { verdict: codes.length === 0 ? 'pass' : 'fail', codes };
}

export function distinctCodes(appraisal: ApiAppraisal): string[] {
  return [...new Set(appraisal.failures.map((f) => f.code))].sort();
}

function describe(verdict: string, codes: string[]): string {
  return codes.length === 0 ? verdict : `${verdict} with ${codes.join(', ')}`;
}

/** undefined when the appraisal is what the scenario expects; else one sentence saying how it differs. */
export function surpriseOf(hostId: string, scenario: ScenarioName, appraisal: ApiAppraisal): string | undefined {
  const want = expectationFor(scenario);
  const got = distinctCodes(appraisal);
  const sameCodes = got.length === want.codes.length && got.every((c, i) => c === want.codes[i]);
  if (appraisal.verdict === want.verdict && sameCodes) return undefined;
  return `${hostId} (${scenario}): expected ${describe(want.verdict, want.codes)}, got ${describe(appraisal.verdict, got)}`;
}

/** Compares a scheduler's list with the hosts we expect in it; undefined when they are the same set. */
export function listSurprise(label: string, got: string[], want: string[]): string | undefined {
  const g = new Set(got);
  const w = new Set(want);
  const missing = want.filter((h) => !g.has(h));
  const extra = got.filter((h) => !w.has(h));
  if (missing.length === 0 && extra.length === 0) return undefined;
  const parts = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : ''].filter(Boolean);
  return `trust=${label} list: ${parts.join('; ')}`;
}
