/**
 * How the CLI reports errors (contract §5): a sentence on stderr for people and, under --json,
 * `{"error": {"code", "message"}}` on stdout for programs, with a non-zero exit code. Commands throw;
 * main() reports. Error classes are recognised by name, so this module loads none of the core.
 */
import { malformedCode, type ParseError } from '../util/errors.ts';

export const EXIT_PASS = 0;
export const EXIT_FAIL = 1;
/** Unusable input: usage, unreadable or malformed files, invalid configuration. */
export const EXIT_UNUSABLE = 2;

/** An error the CLI reports with its own code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT_UNUSABLE,
    /** Shown before the message on stderr, e.g. the code a service refused with. */
    readonly label?: string,
  ) {
    super(message);
  }
}

/** Whether the command line asks for JSON: `--json` anywhere before a `--`. */
export function wantsJson(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--json') return true;
  }
  return false;
}

const FS_CODES = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EPERM', 'ELOOP', 'ENAMETOOLONG', 'EMFILE']);

/** The code, message and exit code for an error a command threw; undefined for a programming error. */
export function describeError(err: unknown): CliError | undefined {
  if (!(err instanceof Error)) return undefined;
  switch (err.name) {
    case 'CliError':
      return err as CliError;
    case 'ParseError':
      return new CliError(malformedCode(err as ParseError), err.message);
    case 'ProfileError':
      return new CliError('invalid_profile', err.message);
    case 'ConfigError':
      return new CliError('invalid_config', err.message);
    case 'EvidenceInputError':
      return new CliError('invalid_evidence', err.message);
    case 'EkRootsError':
      return new CliError('invalid_ek_roots', err.message);
    case 'MasterKeyError':
    case 'KeyringError':
      return new CliError('invalid_master_key', err.message);
    case 'StoreError':
      // The database named by BOOTGATE_DATABASE_URL cannot be reached or used: the message names its host and the cause.
      return new CliError('database_unavailable', err.message, EXIT_FAIL);
    case 'WebhookRegistryError':
      return new CliError('invalid_webhooks', err.message);
  }
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (syscall === 'listen') return new CliError('listen_failed', `cannot listen: ${err.message}`);
  if (typeof code === 'string' && FS_CODES.has(code)) {
    return new CliError('file_error', err.message);
  }
  return undefined;
}

export function reportError(command: string, err: CliError, json: boolean): void {
  process.stderr.write(`bootgate${command ? ` ${command}` : ''}: ${err.label !== undefined ? `${err.label}: ` : ''}${err.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
}
