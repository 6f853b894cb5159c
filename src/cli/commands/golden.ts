/**
 * `bootgate golden learn|check`: write a golden profile learned from a known-good event log
 * (optionally merged into an existing profile), or validate profile files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { appraiseEvidence } from '../../appraisal/pipeline.ts';
import { parseEventLog, replayEventLog } from '../../eventlog/index.ts';
import { ProfileError } from '../../golden/errors.ts';
import { learnProfile } from '../../golden/learn.ts';
import { loadProfileFile, profileId } from '../../golden/load.ts';
import { mergeProfiles } from '../../golden/merge.ts';
import { isHashAlg } from '../../tpm/alg.ts';
import { ParseError } from '../../util/errors.ts';

const EXIT_UNUSABLE = 2;
/** The learned profile fails its own log: nothing is written. */
const EXIT_PROOF_FAILED = 1;

function fail(setExit: (code: number) => void, msg: string): void {
  process.stderr.write(`bootgate golden: ${msg}\n`);
  setExit(EXIT_UNUSABLE);
}

export function registerGolden(program: Command, setExit: (code: number) => void): void {
  const golden = program.command('golden').description('Golden measurement profiles');

  golden
    .command('learn')
    .description('Write a golden profile learned from a known-good event log')
    .requiredOption('--eventlog <file>', 'binary event log (binary_bios_measurements)')
    .requiredOption('--name <name>', 'profile name')
    .option('--version <version>', 'profile version (default 1, or the merged profile version bumped)')
    .option('--bank <bank>', 'bank to appraise (default sha256 when the log carries it)')
    .option('--out <file>', 'write the profile here instead of stdout')
    .option('--merge <profile>', 'merge the learned digests into this existing profile (same name, version bumped)')
    .action((opts: { eventlog: string; name: string; version?: string; bank?: string; out?: string; merge?: string }) => {
      try {
        if (opts.bank !== undefined && !isHashAlg(opts.bank)) return fail(setExit, `unknown bank ${opts.bank}`);
        const bytes = new Uint8Array(readFileSync(opts.eventlog));
        const log = parseEventLog(bytes);
        const replay = replayEventLog(log);
        let profile = learnProfile(log, replay, {
          name: opts.name,
          ...(opts.version !== undefined ? { version: opts.version } : {}),
          ...(opts.bank !== undefined && isHashAlg(opts.bank) ? { bank: opts.bank } : {}),
        });
        if (opts.merge !== undefined) {
          const existing = loadProfileFile(opts.merge);
          profile = mergeProfiles(existing, { ...profile, name: existing.name });
          if (opts.version !== undefined) profile = { ...profile, version: opts.version };
        }
        // Prove the profile before writing it: appraised against the log it was learned from, it must pass.
        const proof = appraiseEvidence({ eventLog: log, profiles: [profile] });
        if (proof.verdict !== 'pass') {
          process.stderr.write(`bootgate golden: refusing to write ${profileId(profile)}: it fails the log it was learned from (${opts.eventlog}):\n`);
          for (const f of proof.failures) process.stderr.write(`  ${f.code}: ${f.message}\n`);
          setExit(EXIT_PROOF_FAILED);
          return;
        }
        for (const u of proof.unverifiedData ?? []) {
          process.stderr.write(`note: PCR ${u.pcr} event ${u.eventIndex} (${u.eventType}): its data is unverified${u.knownDeviation !== undefined ? ` (known deviation ${u.knownDeviation})` : ''}, so the profile does not rely on it\n`);
        }
        const text = `${JSON.stringify(profile, null, 2)}\n`;
        if (opts.out !== undefined) {
          writeFileSync(opts.out, text);
          process.stderr.write(`wrote ${profileId(profile)} (${profile.bank}, PCRs ${profile.pcrs.join(',')}) to ${opts.out}\n`);
        } else process.stdout.write(text);
        setExit(0);
      } catch (e) {
        if (e instanceof ParseError || e instanceof ProfileError) return fail(setExit, e.message);
        if (e instanceof Error && 'code' in e) return fail(setExit, e.message); // file system errors
        throw e;
      }
    });

  golden
    .command('check')
    .description('Validate golden profile files')
    .argument('<files...>', 'profile JSON files')
    .action((files: string[]) => {
      let bad = false;
      for (const f of files) {
        try {
          const p = loadProfileFile(f);
          process.stdout.write(`${f}: ok (${profileId(p)})\n`);
        } catch (e) {
          if (!(e instanceof ProfileError)) throw e;
          bad = true;
          process.stderr.write(`${e.message}\n`);
        }
      }
      setExit(bad ? EXIT_UNUSABLE : 0);
    });
}
