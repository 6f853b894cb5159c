/** `bootgate serve` (and `npm start`): runs the verifier until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config.ts';
import { startService } from '../../service.ts';

export function registerServe(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('Run the attestation verifier service (configured by BOOTGATE_* environment variables)')
    .action(async () => {
      let config;
      try {
        config = loadConfig(process.env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`bootgate serve: ${err.message}\n`);
        setExit(2);
        return;
      }
      let service;
      try {
        service = await startService({ config });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`bootgate serve: ${err.message}\n`);
        setExit(2);
        return;
      }
      if (service.adminKeyFile !== undefined) {
        process.stderr.write(
          `bootgate: BOOTGATE_API_KEYS is not set; ${service.adminKeyGenerated ? 'generated an' : 'using the'} admin API key in ${service.adminKeyFile}\n`,
        );
      }
      process.stdout.write(`bootgate listening on ${service.url}\n`);
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
