import type { Command } from 'commander';

// Placeholder until the owning module lands; replaced by its implementation.
export function registerDemo(program: Command, setExit: (code: number) => void): void {
  program.command('demo').description('(not yet implemented)').action(() => {
    process.stderr.write('bootgate demo: not implemented yet\n');
    setExit(2);
  });
}
