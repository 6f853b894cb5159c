import type { Command } from 'commander';

// Placeholder until the owning module lands; replaced by its implementation.
export function registerAppraise(program: Command, setExit: (code: number) => void): void {
  program.command('appraise').description('(not yet implemented)').action(() => {
    process.stderr.write('bootgate appraise: not implemented yet\n');
    setExit(2);
  });
}
