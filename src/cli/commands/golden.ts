import type { Command } from 'commander';

// Placeholder until the owning module lands; replaced by its implementation.
export function registerGolden(program: Command, setExit: (code: number) => void): void {
  program.command('golden').description('(not yet implemented)').action(() => {
    process.stderr.write('bootgate golden: not implemented yet\n');
    setExit(2);
  });
}
