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
