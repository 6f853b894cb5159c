/** Building findings that name the PCR, bank, event, component, rule, expected and actual. */
import type { TcgEvent } from '../eventlog/types.ts';
import type { HashAlg } from '../tpm/alg.ts';
import type { FailureCode } from './codes.ts';
import type { Finding } from './types.ts';

export function eventFinding(
  code: FailureCode,
  ev: TcgEvent,
  bank: HashAlg,
  rule: string,
  component: string,
  expected: unknown,
  actual: unknown,
  why: string,
): Finding {
  return {
    code,
    message: `PCR ${ev.pcr} event ${ev.index} (${ev.typeName}) ${component}: ${why}`,
    pcr: ev.pcr,
    bank,
    eventIndex: ev.index,
    eventType: ev.typeName,
    component,
    rule,
    expected,
    actual,
  };
}

/**
 * A rule reads this event's data, but the data is unverified: its digest is none of the genuine
 * digests of its type (eventlog/digest-conventions.ts), so the decoded content may not be what was measured.
 */
export function unverifiedDataFinding(ev: TcgEvent, bank: HashAlg, rule: string, component: string, digest: string, knownDeviation?: string): Finding {
  const why = knownDeviation !== undefined ? ` (known deviation ${knownDeviation})` : '';
  return {
    ...eventFinding('event_data_mismatch', ev, bank, rule, component, `a genuine ${ev.typeName} digest of the event data`, digest,
      `${rule} reads this event's data, but its ${bank} digest ${digest} is none of ${ev.typeName}'s genuine digests${why}, so the data is unverified`),
    dataVerified: false,
  };
}

/** Stable identity of a finding, to drop the same problem reported by two stages. */
export function findingKey(f: Finding): string {
  return `${f.code}|${f.pcr ?? ''}|${f.bank ?? ''}|${f.eventIndex ?? ''}|${f.component ?? ''}`;
}

export function dedupeFindings(list: Finding[]): Finding[] {
  const seen = new Set<string>();
  return list.filter((f) => {
    const k = findingKey(f);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Findings listed per appraisal. A hostile 4 MB log of tiny unknown events yields ~80,000 findings:
 * each one stored, logged and sent back would turn one request into tens of megabytes.
 */
export const MAX_FINDINGS = 1000;

/** The first MAX_FINDINGS findings, then one findings_truncated that counts the rest by code. */
export function capFindings(list: Finding[]): Finding[] {
  if (list.length <= MAX_FINDINGS) return list;
  const rest = new Map<string, number>();
  for (let i = MAX_FINDINGS; i < list.length; i++) {
    const code = (list[i] as Finding).code;
    rest.set(code, (rest.get(code) ?? 0) + 1);
  }
  const counts = [...rest].map(([code, n]) => `${n} ${code}`).join(', ');
  return [
    ...list.slice(0, MAX_FINDINGS),
    {
      code: 'findings_truncated',
      message: `${list.length - MAX_FINDINGS} more findings are not listed (${counts}); only the first ${MAX_FINDINGS} are`,
      rule: 'findings',
      expected: MAX_FINDINGS,
      actual: list.length,
    },
  ];
}
