/**
 * `bootgate demo`: a live verifier, a simulated fleet with healthy and tampered hosts, the
 * scheduler's view, key release and the trust-event feed; exit 0 when every host got the verdict
 * its scenario expects.
 */
import { SCENARIOS } from '../../tpm-sim/index.ts';
import { ATTACK_SCENARIOS, attestHost, buildFleet, enrollHost, type EnrolledHost } from './fleet.ts';
import { distinctCodes, expectationFor, listSurprise, surpriseOf } from './expectations.ts';
import { makeStyle } from './format.ts';
import { runKeyRelease } from './key-release.ts';
import { Narrator } from './narrate.ts';
import type { DemoReport, HostReport } from './report.ts';
import { hostsWithTrust, readTrustEvents } from './scheduler.ts';
import { GOLDEN_DIR, SIM_EK_ROOT, SIM_PROFILE, startDemoVerifier } from './verifier.ts';

export interface DemoOptions {
  /** Clean hosts in the fleet (at least 1: one of them receives the disk key). */
  cleanHosts: number;
  keep: boolean;
  /** Print only the JSON report. */
  json: boolean;
  color: boolean;
}

export const MAX_CLEAN_HOSTS = 200;

export async function runDemo(options: DemoOptions, out: (line: string) => void): Promise<DemoReport> {
  if (!Number.isInteger(options.cleanHosts) || options.cleanHosts < 1 || options.cleanHosts > MAX_CLEAN_HOSTS) {
    throw new RangeError(`--hosts must be a whole number from 1 to ${MAX_CLEAN_HOSTS}`);
  }
  const started = Date.now();
  const tell = new Narrator(options.json ? () => {} : out, makeStyle(options.color));
  tell.intro(options.cleanHosts, ATTACK_SCENARIOS.length);

  const v = await startDemoVerifier();
  let report: DemoReport | undefined;
  try {
    const verifier = { url: v.url, dataDir: v.dataDir, kept: options.keep, ekRoots: SIM_EK_ROOT, goldenDir: GOLDEN_DIR, profile: SIM_PROFILE };
    tell.verifier(verifier, options.keep);

    let t = Date.now();
    const fleet = await buildFleet(v.url, options.cleanHosts);
    const bootMs = Date.now() - t;
    t = Date.now();
    const enrolled: EnrolledHost[] = await Promise.all(fleet.map(enrollHost));
    const enrollMs = Date.now() - t;

    t = Date.now();
    const attested = await Promise.all(enrolled.map(async (h) => ({ host: h, result: await attestHost(h) })));
    const attestMs = Date.now() - t;
    const hosts: HostReport[] = attested.map(({ host, result }) => {
      const a = result.appraisal;
      const want = expectationFor(host.scenario);
      return {
        hostId: host.hostId,
        scenario: host.scenario,
        description: SCENARIOS[host.scenario].description,
        ekType: host.ekType,
        akType: host.akType,
        akName: host.akName,
        verdict: a.verdict,
        profile: a.profile,
        codes: distinctCodes(a),
        expectedVerdict: want.verdict,
        expectedCodes: want.codes,
        asExpected: surpriseOf(host.hostId, host.scenario, a) === undefined,
        tokenIssued: a.token !== undefined,
        ...(a.failures[0] ? { topFinding: a.failures[0] } : {}),
        findings: a.failures.length,
        ...(result.honest ? { honestVerdict: result.honest.verdict } : {}),
      };
    });
    const surprises = attested.flatMap(({ host, result }) => surpriseOf(host.hostId, host.scenario, result.appraisal) ?? []);
    tell.enrollment(hosts, bootMs, enrollMs, SIM_PROFILE);
    tell.attestation(hosts, attestMs);

    const trust = {
      trusted: await hostsWithTrust(v.url, v.keys.scheduler, 'trusted'),
      untrusted: await hostsWithTrust(v.url, v.keys.scheduler, 'untrusted'),
      expectedTrusted: hosts.filter((h) => h.expectedVerdict === 'pass').map((h) => h.hostId).sort(),
      expectedUntrusted: hosts.filter((h) => h.expectedVerdict === 'fail').map((h) => h.hostId).sort(),
    };
    surprises.push(
      ...[listSurprise('trusted', trust.trusted, trust.expectedTrusted), listSurprise('untrusted', trust.untrusted, trust.expectedUntrusted)].flatMap((s) => s ?? []),
    );
    tell.scheduler(trust);

    const clean = enrolled.find((h) => h.scenario === 'clean');
    const tampered = enrolled.find((h) => h.scenario === 'kernel-swap');
    if (!clean || !tampered) throw new Error('the fleet needs a clean host and a kernel-swap host');
    const keyRelease = await runKeyRelease(v, clean, tampered);
    surprises.push(...keyRelease.surprises);
    tell.keyRelease(keyRelease);

    const events = await readTrustEvents(v.url, v.keys.scheduler);
    tell.events(events);

    const { latest: _latest, ...eventCounts } = events;
    report = {
      ok: surprises.length === 0,
      exitCode: surprises.length === 0 ? 0 : 1,
      verifier,
      hosts,
      trust,
      keyRelease,
      events: eventCounts,
      surprises,
      elapsedMs: 0,
    };
  } finally {
    await v.stop(options.keep);
  }
  report.elapsedMs = Date.now() - started;
  tell.result(report, options.keep);
  if (options.json) out(JSON.stringify(report, null, 2));
  return report;
}
