import type { Command } from 'commander';

// Placeholder until the owning module lands; replaced by its implementation.
export function registerVerifyQuote(program: Command, setExit: (code: number) => void): void {
  program.command('verify-quote').description('(not yet implemented)').action(() => {
    process.stderr.write('bootgate verify-quote: not implemented yet\n');
    setExit(2);
  });
}
