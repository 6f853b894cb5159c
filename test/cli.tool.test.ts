/**
 * The CLI behaves like a tool (contract §5), through the compiled bin/bootgate.mjs: `--version`,
 * and `--json` on every command with errors as `{"error": {"code", "message"}}` on stdout and a
 * non-zero exit code; the program's --version never swallows a command's own --version option.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootEvents, encodeEventLog, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';
import { runBootgate, type CliRun } from './helpers/cli.ts';
import { repoRoot } from './helpers/fixtures.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'bootgate-cli-tool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

function jsonError(r: CliRun): { code: string; message: string } {
  const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
  expect(Object.keys(doc)).toEqual(['error']);
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'message']);
  expect(doc.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(doc.error.message.length).toBeGreaterThan(0);
  return doc.error;
}

describe('bootgate --version', () => {
  it('prints the package version and exits 0 (also -V)', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runBootgate([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('golden learn --version names the profile version, not the program version', async () => {
    const log = path.join(tmp, 'ref.bin');
    writeFileSync(log, encodeEventLog(LOG_BANKS, bootEvents(referencePlatform())));
    const r = await runBootgate(['golden', 'learn', '--eventlog', log, '--name', 'v', '--version', '7']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { version: string }).version).toBe('7');
  });
});

describe('--json: every command answers errors as JSON on stdout with a non-zero exit', () => {
  const missing = path.join(tmp, 'missing.bin');
  const garbage = path.join(tmp, 'garbage.bin');
  writeFileSync(garbage, 'not a TPM structure, not an event log, not a profile');

  const cases: Array<{ what: string; args: string[]; env?: Record<string, string>; code: string; exit: number }> = [
    { what: 'eventlog, unreadable file', args: ['eventlog', missing, '--json'], code: 'file_unreadable', exit: 2 },
    { what: 'eventlog, malformed log', args: ['eventlog', garbage, '--json'], code: 'malformed_event_log', exit: 2 },
    { what: 'verify-quote, missing option', args: ['verify-quote', '--json', '--ak', garbage], code: 'usage_error', exit: 2 },
    { what: 'verify-quote, malformed AK', args: ['verify-quote', '--ak', garbage, '--quote', garbage, '--signature', garbage, '--nonce', '00', '--json'], code: 'malformed_ak_pub', exit: 2 },
    { what: 'golden learn, malformed log', args: ['golden', 'learn', '--eventlog', garbage, '--name', 'x', '--json'], code: 'malformed_event_log', exit: 2 },
    { what: 'golden learn, no --name', args: ['golden', 'learn', '--eventlog', garbage, '--json'], code: 'usage_error', exit: 2 },
    { what: 'appraise, malformed profile', args: ['appraise', '--golden', garbage, '--eventlog', garbage, '--json'], code: 'invalid_profile', exit: 2 },
    { what: 'appraise, quote without its signature', args: ['appraise', '--golden', garbage, '--eventlog', garbage, '--quote', garbage, '--json'], code: 'usage_error', exit: 2 },
    { what: 'demo, bad --hosts', args: ['demo', '--hosts', '0', '--json'], code: 'usage_error', exit: 2 },
    { what: 'serve, bad configuration', args: ['serve', '--json'], env: { BOOTGATE_API_KEYS: 'root:0123456789abcdef0123' }, code: 'invalid_config', exit: 2 },
    { what: 'an unknown option', args: ['eventlog', garbage, '--json', '--colour'], code: 'usage_error', exit: 2 },
    { what: 'an unknown command', args: ['attest', '--json'], code: 'usage_error', exit: 2 },
  ];

  it.each(cases)('$what', async ({ args, env, code, exit }) => {
    const r = await runBootgate(args, { BOOTGATE_DATA_DIR: path.join(tmp, 'data'), ...env });
    expect(r.code, r.stderr).toBe(exit);
    expect(jsonError(r).code).toBe(code);
    // People still read the sentence on stderr.
    expect(r.stderr).toContain(jsonError(r).message);
  });

  it('golden check --json lists each file with its profile or its error', async () => {
    const good = path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json');
    const r = await runBootgate(['golden', 'check', good, garbage, '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { files: Array<{ file: string; profile?: string; error?: { code: string } }> };
    expect(doc.files).toHaveLength(2);
    expect(doc.files[0]).toMatchObject({ file: good, profile: expect.stringMatching(/^tpm-sim-reference@/) });
    expect(doc.files[1]).toMatchObject({ file: garbage, error: { code: 'invalid_profile' } });
  });

  it('without --json the error is a sentence on stderr and stdout stays empty', async () => {
    const r = await runBootgate(['eventlog', missing]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^bootgate eventlog: cannot read .*missing\.bin/);
  });
});
