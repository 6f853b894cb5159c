/** `bootgate serve` (and `npm start`): runs the verifier until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { startService } from '../../service.ts';

export function registerServe(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('Run the attestation verifier service (configured by BOOTGATE_* environment variables)')
    .option('--json', 'print the listening line as JSON ({"listening": URL}); errors as {"error": {"code", "message"}}')
    .action(async (opts: { json?: boolean }) => {
      // A ConfigError is reported by main (invalid_config, exit 2).
      const config = loadConfig(process.env);
      const service = await startService({ config });
      if (service.adminKeyFile !== undefined) {
        process.stderr.write(
          `bootgate: BOOTGATE_API_KEYS is not set; ${service.adminKeyGenerated ? 'generated an' : 'using the'} admin API key in ${service.adminKeyFile}\n`,
        );
      }
      process.stdout.write(opts.json === true ? `${JSON.stringify({ listening: service.url })}\n` : `bootgate listening on ${service.url}\n`);
      await new Promise<void>((resolve) => {
        const shutdown = (signal: NodeJS.Signals): void => {
          process.stderr.write(`bootgate: ${signal} received, shutting down\n`);
          void service.stop().then(resolve, (err: unknown) => {
            process.stderr.write(`bootgate: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
            setExit(1);
            resolve();
          });
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
    });
}
