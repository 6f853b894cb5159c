/**
 * `bootgate` command line. Each command lives in its own file under commands/ and registers
 * itself on the program; this file only assembles them and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { registerEventlog } from './commands/eventlog.ts';
import { registerVerifyQuote } from './commands/verify-quote.ts';
import { registerGolden } from './commands/golden.ts';
import { registerAppraise } from './commands/appraise.ts';
import { registerServe } from './commands/serve.ts';
import { registerDemo } from './commands/demo.ts';
import { registerHosts } from './commands/hosts.ts';
import { registerDrift } from './commands/drift.ts';

/** Exit code for unusable input (contract §5). Commands set 0/1 themselves. */
export const EXIT_UNUSABLE_INPUT = 2;

export async function main(argv: string[]): Promise<number> {
  const program = new Command('bootgate')
    .description('Measured-boot attestation verifier')
    .exitOverride()
    .showHelpAfterError();
  let exitCode = 0;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  registerServe(program, setExit);
  registerEventlog(program, setExit);
  registerVerifyQuote(program, setExit);
  registerGolden(program, setExit);
  registerAppraise(program, setExit);
  registerDemo(program, setExit);
  registerHosts(program, setExit);
  registerDrift(program, setExit);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 through here; usage errors are unusable input.
      return err.exitCode === 0 ? 0 : EXIT_UNUSABLE_INPUT;
    }
    process.stderr.write(`bootgate: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_UNUSABLE_INPUT;
  }
  return exitCode;
}
