/**
 * `bootgate` command line. Each command lives in its own file under commands/ and registers
 * itself on the program; this file assembles them, loading only the command being run (the
 * service, the appraisal core and their libraries cost hundreds of milliseconds to load), and
 * reports errors: a sentence on stderr, and under --json `{"error": {"code", "message"}}` on stdout.
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../util/package-root.ts';
import { CliError, EXIT_UNUSABLE, describeError, reportError, wantsJson } from './output.ts';

/** Exit code for unusable input (contract §5). Commands set 0/1 themselves. */
export const EXIT_UNUSABLE_INPUT = EXIT_UNUSABLE;

type Register = (program: Command, setExit: (code: number) => void) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  eventlog: async () => (await import('./commands/eventlog.ts')).registerEventlog,
  'verify-quote': async () => (await import('./commands/verify-quote.ts')).registerVerifyQuote,
  golden: async () => (await import('./commands/golden.ts')).registerGolden,
  appraise: async () => (await import('./commands/appraise.ts')).registerAppraise,
  demo: async () => (await import('./commands/demo.ts')).registerDemo,
  hosts: async () => (await import('./commands/hosts.ts')).registerHosts,
  drift: async () => (await import('./commands/drift.ts')).registerDrift,
};

/** The commands to load: the one named, none for --version alone, all for help and mistakes. */
function commandsFor(args: readonly string[]): string[] {
  const first = args.find((a) => !a.startsWith('-'));
  if (first !== undefined && first in COMMANDS) return [first];
  if (first === undefined && args.length > 0 && args.every((a) => a === '--version' || a === '-V' || a === '--json')) return [];
  return Object.keys(COMMANDS);
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  const json = wantsJson(args);
  const program = new Command('bootgate')
    .description('Measured-boot attestation verifier')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Options of the program only before a command: `golden learn --version 2` is the profile's version.
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError(!json);
  // Under --json commander's own error sentence is reported in the JSON error instead.
  if (json) program.configureOutput({ outputError: () => undefined });
  let exitCode = 0;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  let running = '';
  program.hook('preAction', (_program, action) => {
    running = commandPath(action);
  });
  for (const name of commandsFor(args)) (await COMMANDS[name]!())(program, setExit);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 through here; usage errors are unusable input.
      if (err.exitCode === 0) return 0;
      if (json) reportError('', new CliError('usage_error', err.message.replace(/^error: /, '')), true);
      return EXIT_UNUSABLE;
    }
    const known = describeError(err);
    if (known !== undefined) {
      reportError(running, known, json);
      return known.exitCode;
    }
    // A bug, not bad input: the stack goes to stderr, the JSON names it.
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'internal_error', message: err instanceof Error ? err.message : String(err) } })}\n`);
    return EXIT_UNUSABLE;
  }
  return exitCode;
}
