/**
 * Real TCG event logs shared outside the repository (../shared/fixtures/real-eventlogs).
 * Tests must skip with a clear message when the folder is absent; never copy fixtures in.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { available } from './require.ts';
import { eventTypeName } from '../../src/eventlog/event-types.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** /…/shared/fixtures/real-eventlogs next to the repository. */
export function sharedFixturesDir(): string {
  return path.resolve(repoRoot, '..', 'shared', 'fixtures', 'real-eventlogs');
}

export const SHARED_FIXTURES_MISSING = `shared fixtures not found at ${sharedFixturesDir()} (expected ../shared/fixtures/real-eventlogs next to the repo)`;

let fixturesPresent: boolean | undefined;
/** True when the shared fixtures are there; throws under BOOTGATE_TEST_REQUIRE=1 when they are not. */
export function haveSharedFixtures(): boolean {
  return (fixturesPresent ??= available('the shared real event logs', existsSync(path.join(sharedFixturesDir(), 'expected-pcrs.json')), SHARED_FIXTURES_MISSING));
}

export interface RealLog {
  /** Path relative to the fixtures folder, e.g. "go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin". */
  name: string;
  path: string;
  /** bank -> PCR index (string) -> hex, as expected-pcrs.json gives it. */
  expected: Record<string, Record<string, string>>;
}

/** Every log of expected-pcrs.json with its expected PCR values. Empty when the fixtures are absent. */
export function realLogs(): RealLog[] {
  if (!haveSharedFixtures()) return [];
  const dir = sharedFixturesDir();
  const json = JSON.parse(readFileSync(path.join(dir, 'expected-pcrs.json'), 'utf8')) as Record<string, { pcrs: Record<string, Record<string, string>> }>;
  return Object.entries(json).map(([name, v]) => ({ name, path: path.join(dir, name), expected: v.pcrs }));
}

/** Reads a fixture (path relative to the fixtures folder) as a Uint8Array. */
export function readFixture(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(sharedFixturesDir(), relative)));
}

export const GCE_ATTESTATION_DIR = 'go-tpm-tools/internal/test/attestations/gce-cos-85-nonce9009.split';

const SPEC_ID_EVENT03 = 'Spec ID Event03\0';

/**
 * Whether the bytes begin like a TCG event log: a TCG_PCR_EVENT carrying "Spec ID Event03"
 * (crypto-agile), or a legacy TCG_PCR_EVENT with a PCR index 0-23, a known event type and an
 * EventSize that fits. Judged by content, never by file name.
 */
export function looksLikeEventLog(b: Uint8Array): boolean {
  if (b.length < 32) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 48 && new TextDecoder().decode(b.subarray(32, 48)) === SPEC_ID_EVENT03) return true;
  const pcr = dv.getUint32(0, true);
  const type = dv.getUint32(4, true);
  return pcr <= 23 && !eventTypeName(type).startsWith('EV_UNKNOWN') && dv.getUint32(28, true) <= b.length - 32;
}

/** Every event log in the shared fixtures, found by content (paths relative to the fixtures folder). */
export function realEventLogFiles(): string[] {
  if (!haveSharedFixtures()) return [];
  const root = sharedFixturesDir();
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (looksLikeEventLog(new Uint8Array(readFileSync(p)))) out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}
