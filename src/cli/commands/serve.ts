import type { Command } from 'commander';

// Placeholder until the owning module lands; replaced by its implementation.
export function registerServe(program: Command, setExit: (code: number) => void): void {
  program.command('serve').description('(not yet implemented)').action(() => {
    process.stderr.write('bootgate serve: not implemented yet\n');
    setExit(2);
  });
}
