/** `bootgate demo`: a simulated fleet, healthy and tampered, against a live in-process verifier. */
import { InvalidArgumentError, type Command } from 'commander';
import { MAX_CLEAN_HOSTS, runDemo } from '../../demo/run.ts';
import { CliError } from '../output.ts';

function hostCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CLEAN_HOSTS) throw new InvalidArgumentError(`It must be a whole number from 1 to ${MAX_CLEAN_HOSTS}.`);
  return n;
}

export function registerDemo(program: Command, setExit: (code: number) => void): void {
  program
    .command('demo')
    .description('Run a simulated fleet (healthy and tampered tpm-sim hosts) end to end against a live verifier and explain what happens')
    .option('--hosts <n>', 'number of clean hosts', hostCount, 3)
    .option('--keep', 'keep the temporary data directory (and a demo.env to restart the verifier on it)', false)
    .option('--json', 'print a machine-readable summary instead of the narration', false)
    .action(async (opts: { hosts: number; keep: boolean; json: boolean }) => {
      const color = process.stdout.isTTY === true && !opts.json && process.env.NO_COLOR === undefined;
      try {
        const report = await runDemo({ cleanHosts: opts.hosts, keep: opts.keep, json: opts.json, color }, (line) => process.stdout.write(`${line}\n`));
        setExit(report.exitCode);
      } catch (err) {
        throw new CliError('demo_failed', `the demo could not run: ${err instanceof Error ? err.message : String(err)}`, 1);
      }
    });
}
