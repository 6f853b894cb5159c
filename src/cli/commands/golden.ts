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
import { CliError } from '../output.ts';

/** The learned profile fails its own log: nothing is written. */
const EXIT_PROOF_FAILED = 1;

export function registerGolden(program: Command, setExit: (code: number) => void): void {
  const golden = program.command('golden').description('Golden measurement profiles');

  golden
    .command('learn')
    .description('Write a golden profile learned from a known-good event log')
    .requiredOption('--eventlog <file>', 'binary event log (binary_bios_measurements)')
    .option('--name <name>', 'profile name (required without --merge; with --merge it must be the merged profile\'s name)')
    .option('--version <version>', 'profile version (default 1, or the merged profile version bumped)')
    .option('--bank <bank>', 'bank to appraise (default sha256 when the log carries it)')
    .option('--out <file>', 'write the profile here instead of stdout')
    .option('--merge <profile>', 'merge the learned digests into this existing profile (same name, version bumped)')
    .option('--json', 'with --out, print what was written as JSON; errors as {"error": {"code", "message"}}')
    .action((opts: { eventlog: string; name?: string; version?: string; bank?: string; out?: string; merge?: string; json?: boolean }) => {
      if (opts.bank !== undefined && !isHashAlg(opts.bank)) throw new CliError('usage_error', `unknown bank ${opts.bank}`);
      // A merge keeps the merged profile's name; a different --name is refused rather than ignored.
      const existing = opts.merge !== undefined ? loadProfileFile(opts.merge) : undefined;
      const name = opts.name ?? existing?.name;
      if (name === undefined) throw new CliError('usage_error', "required option '--name <name>' not specified");
      if (existing !== undefined && name !== existing.name) {
        throw new CliError(
          'name_mismatch',
          `--merge ${opts.merge} holds profile "${existing.name}", but --name is "${name}": a merge keeps the profile's name; leave out --name (or give "${existing.name}"), or learn "${name}" as a new profile without --merge`,
        );
      }
      const log = parseEventLog(new Uint8Array(readFileSync(opts.eventlog)));
      const replay = replayEventLog(log);
      let profile = learnProfile(log, replay, {
        name,
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.bank !== undefined && isHashAlg(opts.bank) ? { bank: opts.bank } : {}),
      });
      if (existing !== undefined) {
        profile = mergeProfiles(existing, profile);
        if (opts.version !== undefined) profile = { ...profile, version: opts.version };
      }
      // Prove the profile before writing it: appraised against the log it was learned from, it must pass.
      const proof = appraiseEvidence({ eventLog: log, profiles: [profile] });
      if (proof.verdict !== 'pass') {
        throw new CliError(
          'profile_fails_own_log',
          `refusing to write ${profileId(profile)}: it fails the log it was learned from (${opts.eventlog}):\n${proof.failures.map((f) => `  ${f.code}: ${f.message}`).join('\n')}`,
          EXIT_PROOF_FAILED,
        );
      }
      for (const u of proof.unverifiedData ?? []) {
        process.stderr.write(`note: PCR ${u.pcr} event ${u.eventIndex} (${u.eventType}): its data is unverified${u.knownDeviation !== undefined ? ` (known deviation ${u.knownDeviation})` : ''}, so the profile does not rely on it\n`);
      }
      const text = `${JSON.stringify(profile, null, 2)}\n`;
      if (opts.out !== undefined) {
        writeFileSync(opts.out, text);
        process.stderr.write(`wrote ${profileId(profile)} (${profile.bank}, PCRs ${profile.pcrs.join(',')}) to ${opts.out}\n`);
        if (opts.json === true) process.stdout.write(`${JSON.stringify({ wrote: opts.out, profile: profileId(profile), bank: profile.bank, pcrs: profile.pcrs })}\n`);
      } else process.stdout.write(text);
      setExit(0);
    });

  golden
    .command('check')
    .description('Validate golden profile files')
    .argument('<files...>', 'profile JSON files')
    .option('--json', 'print {"files": [{"file", "profile"} or {"file", "error": {"code", "message"}}]}')
    .action((files: string[], opts: { json?: boolean }) => {
      const results: Array<{ file: string; profile?: string; error?: { code: string; message: string } }> = [];
      for (const f of files) {
        try {
          const p = loadProfileFile(f);
          results.push({ file: f, profile: profileId(p) });
          if (opts.json !== true) process.stdout.write(`${f}: ok (${profileId(p)})\n`);
        } catch (e) {
          if (!(e instanceof ProfileError)) throw e;
          results.push({ file: f, error: { code: 'invalid_profile', message: e.message } });
          process.stderr.write(`${e.message}\n`);
        }
      }
      if (opts.json === true) process.stdout.write(`${JSON.stringify({ files: results })}\n`);
      setExit(results.some((r) => r.error !== undefined) ? 2 : 0);
    });
}
