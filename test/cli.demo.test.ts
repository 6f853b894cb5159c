/**
 * `bootgate demo`: the whole fleet story against a live in-process verifier (one run in-process,
 * one through bin/bootgate.mjs with --json --keep), plus the pieces that decide its exit code.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { runBootgateSync } from './helpers/cli.ts';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runDemo } from '../src/demo/run.ts';
import type { DemoReport } from '../src/demo/report.ts';
import { surpriseOf, listSurprise } from '../src/demo/expectations.ts';
import { shortValue, findingValues, wrap, columns, makeStyle } from '../src/demo/format.ts';
import { KEPT_ENV_FILE } from '../src/demo/verifier.ts';
import { main } from '../src/cli/main.ts';
import { SCENARIOS, SCENARIO_NAMES } from '../tpm-sim/index.ts';

const ATTACKS = SCENARIO_NAMES.filter((s) => s !== 'clean');

describe('bootgate demo, in-process (human output)', () => {
  let report: DemoReport;
  let text: string;

  beforeAll(async () => {
    const lines: string[] = [];
    report = await runDemo({ cleanHosts: 3, keep: false, json: false, color: false }, (l) => lines.push(l));
    text = lines.join('\n');
  });

  it('exits 0 with no surprises', () => {
    expect(report.surprises).toEqual([]);
    expect(report.exitCode).toBe(0);
    expect(report.ok).toBe(true);
  });

  it('enrolls 3 clean hosts, with RSA and ECC EKs, and one host per attack scenario', () => {
    const clean = report.hosts.filter((h) => h.scenario === 'clean');
    expect(clean).toHaveLength(3);
    expect(new Set(clean.map((h) => h.ekType))).toEqual(new Set(['rsa', 'ecc']));
    expect(report.hosts.filter((h) => h.scenario !== 'clean').map((h) => h.scenario).sort()).toEqual([...ATTACKS].sort());
  });

  it('clean hosts pass with a token under the reference profile', () => {
    for (const h of report.hosts.filter((x) => x.scenario === 'clean')) {
      expect(h, h.hostId).toMatchObject({ verdict: 'pass', codes: [], tokenIssued: true, profile: 'tpm-sim-reference@1' });
    }
  });

  it('every attack host fails with exactly its scenario codes', () => {
    for (const scenario of ATTACKS) {
      const h = report.hosts.find((x) => x.scenario === scenario);
      expect(h, scenario).toBeDefined();
      expect(h?.verdict, scenario).toBe('fail');
      expect(h?.codes, scenario).toEqual([...SCENARIOS[scenario].expectedCodes].sort());
      expect(h?.tokenIssued, scenario).toBe(false);
      expect(h?.topFinding?.code, scenario).toBe(SCENARIOS[scenario].expectedCodes[0]);
    }
  });

  it('the replayed quote is shown as an honest pass followed by nonce_reused', () => {
    const h = report.hosts.find((x) => x.scenario === 'replayed-quote');
    expect(h?.honestVerdict).toBe('pass');
    expect(h?.codes).toEqual(['nonce_reused']);
  });

  it("the scheduler's trusted and untrusted lists are the clean and the attack hosts", () => {
    const clean = report.hosts.filter((h) => h.scenario === 'clean').map((h) => h.hostId).sort();
    const attacks = report.hosts.filter((h) => h.scenario !== 'clean').map((h) => h.hostId).sort();
    expect(report.trust.trusted).toEqual(clean);
    expect(report.trust.untrusted).toEqual(attacks);
  });

  it('a clean host receives the disk key; a tampered host and a stale token are refused with a code', () => {
    const k = report.keyRelease;
    expect(k.secret).toMatch(/^disk-key-/);
    expect(k.clean).toMatchObject({ outcome: 'released', status: 200, matchesStored: true, fingerprint: k.fingerprint });
    expect(k.tampered.hostId).toBe(report.hosts.find((h) => h.scenario === 'kernel-swap')?.hostId);
    expect(k.tampered).toMatchObject({ outcome: 'refused', status: 401, code: 'token_missing' });
    expect(k.reimaged.passedFirst).toBe(true);
    expect(k.reimaged.failedAfter).toEqual(['kernel_not_allowed']);
    expect(k.reimaged.outcome).toBe('refused');
    expect(['host_untrusted', 'token_revoked', 'token_superseded']).toContain(k.reimaged.code);
    expect(k.audit).toEqual({ released: 1, refused: 2 });
  });

  it('summarises the trust-event feed', () => {
    const hosts = report.hosts.length + 1; // + the reimaged host
    expect(report.events.byKind['enrolled']).toBe(hosts);
    expect(report.events.count).toBe(Object.values(report.events.byKind).reduce((a, b) => a + b, 0));
    expect(report.events.lastSeq).toBeGreaterThanOrEqual(report.events.count);
  });

  it('tells the story: phases, the URL, each attack with its finding, no colour, no key material', () => {
    for (const phase of ['1. Verifier', '2. Enrollment', '3. Attestation', '4. Scheduler', '5. Key release', '6. Trust events']) expect(text).toContain(phase);
    expect(text).toContain(report.verifier.url);
    expect(text).not.toContain('\x1b[');
    for (const scenario of ATTACKS) {
      expect(text).toContain(SCENARIOS[scenario].description.split(' ').slice(0, 4).join(' '));
      expect(text).toMatch(new RegExp(`${scenario}-01 +${scenario} +FAIL +${SCENARIOS[scenario].expectedCodes[0]}`));
    }
    expect(text).toMatch(/finding {2}firmware_not_allowed at PCR 0, event #\d+ EV_EFI_PLATFORM_FIRMWARE_BLOB/);
    expect(text).toContain('REFUSED 401 token_missing');
    expect(text).toContain(`decrypted with its binding key: ${report.keyRelease.fingerprint} (matches)`);
    expect(text).toContain('Result: every host got the verdict its scenario expects (exit 0)');
  });

  it('removes its data directory', () => {
    expect(existsSync(report.verifier.dataDir)).toBe(false);
  });
});

describe('bootgate demo through bin/bootgate.mjs', () => {
  it('demo --json --keep: exit 0, a JSON report, and a kept data directory with demo.env (0600)', () => {
    const r = runBootgateSync(['demo', '--json', '--keep', '--hosts', '2']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as DemoReport;
    try {
      expect(report.ok).toBe(true);
      expect(report.hosts.filter((h) => h.scenario === 'clean')).toHaveLength(2);
      expect(report.hosts.every((h) => h.asExpected)).toBe(true);
      expect(report.keyRelease.clean.outcome).toBe('released');
      const envFile = join(report.verifier.dataDir, KEPT_ENV_FILE);
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(envFile, 'utf8')).toContain(`BOOTGATE_DATA_DIR=${report.verifier.dataDir}`);
    } finally {
      rmSync(report.verifier.dataDir, { recursive: true, force: true });
    }
  });

  it('--hosts must be a whole number from 1 (unusable input: exit 2)', async () => {
    expect(await main(['node', 'bootgate', 'demo', '--hosts', '0'])).toBe(2);
    expect(await main(['node', 'bootgate', 'demo', '--hosts', 'many'])).toBe(2);
  });
});

describe('what decides the exit code', () => {
  const appraisal = (verdict: 'pass' | 'fail', codes: string[]) => ({
    appraisalId: 'a',
    verdict,
    profile: 'tpm-sim-reference@1',
    failures: codes.map((code) => ({ code, message: code })),
  });

  it('a host is a surprise unless its verdict and exact code set match its scenario', () => {
    expect(surpriseOf('k', 'kernel-swap', appraisal('fail', ['kernel_not_allowed', 'kernel_not_allowed']))).toBeUndefined();
    expect(surpriseOf('c', 'clean', appraisal('pass', []))).toBeUndefined();
    expect(surpriseOf('k', 'kernel-swap', appraisal('pass', []))).toBe('k (kernel-swap): expected fail with kernel_not_allowed, got pass');
    expect(surpriseOf('k', 'kernel-swap', appraisal('fail', ['kernel_not_allowed', 'pcr_replay_mismatch']))).toContain('got fail with kernel_not_allowed, pcr_replay_mismatch');
    expect(surpriseOf('c', 'clean', appraisal('fail', ['event_not_allowed']))).toBe('c (clean): expected pass, got fail with event_not_allowed');
  });

  it('a trust list is a surprise when a host is missing or extra', () => {
    expect(listSurprise('trusted', ['b', 'a'], ['a', 'b'])).toBeUndefined();
    expect(listSurprise('trusted', ['a', 'x'], ['a', 'b'])).toBe('trust=trusted list: missing b; unexpected x');
  });
});

describe('demo text helpers', () => {
  it('shortens digests, lists and long text to where it differs', () => {
    const d = 'ab'.repeat(32);
    expect(shortValue(d)).toBe('abababab…ababab');
    expect(shortValue([])).toBe('(nothing allowed)');
    expect(shortValue([d, d, d])).toBe('one of abababab…ababab, abababab…ababab (+1 more)');
    expect(shortValue(null)).toBe('(absent)');
    const base = 'kernel_cmdline: /boot/vmlinuz root=PARTUUID=0000-1111-2222 ro quiet splash';
    expect(shortValue(`${base} init=/bin/sh`, [base])).toMatch(/^"….*splash init=\/bin\/sh"$/);
    expect(findingValues({ code: 'pcr_replay_mismatch', message: '', expected: d, actual: null })).toBe('the TPM quoted abababab…ababab; the log replays to (absent)');
  });

  it('wraps and aligns without counting colour codes', () => {
    expect(wrap('aaa bbb ccc', 9, '- ', '  ')).toEqual(['- aaa bbb', '  ccc']);
    const red = makeStyle(true).red;
    const lines = columns([['x', { text: 'FAIL', paint: red }, 'y'], ['longer', 'PASS', 'z']], '');
    expect(lines[0]).toBe(`x       ${red('FAIL')}  y`);
    expect(lines[1]).toBe('longer  PASS  z');
    expect(makeStyle(false).red('FAIL')).toBe('FAIL');
  });
});
