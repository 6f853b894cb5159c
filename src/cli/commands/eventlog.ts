import type { Command } from 'commander';

// Placeholder until the owning module lands; replaced by its implementation.
export function registerEventlog(program: Command, setExit: (code: number) => void): void {
  program.command('eventlog').description('(not yet implemented)').action(() => {
    process.stderr.write('bootgate eventlog: not implemented yet\n');
    setExit(2);
  });
}
