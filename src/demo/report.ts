/** The demo's machine-readable summary (`bootgate demo --json`). */
import type { ScenarioName } from '../../tpm-sim/index.ts';
import type { ApiFinding } from './fleet.ts';
import type { KeyReleaseResult } from './key-release.ts';
import type { EventsSummary } from './scheduler.ts';

export interface HostReport {
  hostId: string;
  scenario: ScenarioName;
  /** SCENARIOS[scenario].description. */
  description: string;
  ekType: 'rsa' | 'ecc';
  akType: 'rsa' | 'rsapss' | 'ecc';
  akName: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  /** Distinct failure codes, sorted. */
  codes: string[];
  expectedVerdict: 'pass' | 'fail';
  expectedCodes: string[];
  asExpected: boolean;
  tokenIssued: boolean;
  /** The first failure, as the verifier reported it. */
  topFinding?: ApiFinding;
  findings: number;
  /** replayed-quote: the verdict of the honest attestation that was then replayed. */
  honestVerdict?: 'pass' | 'fail';
}

export interface DemoReport {
  ok: boolean;
  exitCode: 0 | 1;
  verifier: { url: string; dataDir: string; kept: boolean; ekRoots: string; goldenDir: string; profile: string };
  hosts: HostReport[];
  trust: { trusted: string[]; untrusted: string[]; expectedTrusted: string[]; expectedUntrusted: string[] };
  keyRelease: KeyReleaseResult;
  events: Omit<EventsSummary, 'latest'>;
  /** One sentence per thing that did not go as the scenarios say; empty when ok. */
  surprises: string[];
  elapsedMs: number;
}
