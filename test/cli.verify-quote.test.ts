/** `bootgate verify-quote` as a user runs it: a child process, exit codes 0/1/2 (contract §5). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.ts';
import { type SwtpmHandle, haveSwtpm, startSwtpm } from './helpers/swtpm.ts';
import { GCE_DIR, type SwtpmQuote, haveGce, loadGce, produceSwtpmQuotes } from './helpers/tpm-fixtures.ts';
import { pcrBanksToJson } from '../src/tpm/index.ts';
import { runBootgate } from './helpers/cli.ts';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real binary in a child process: used for a few cases per exit code (each start costs ~2 s of CPU). */
const spawned = (args: string[]): Promise<CliResult> => runBootgate(['verify-quote', ...args]);

let inProcess: Promise<unknown> = Promise.resolve();

/** The same command line run in-process through main(), capturing what it writes; one at a time, since the capture is process-wide. */
function bootgate(args: string[]): Promise<CliResult> {
  const run = inProcess.then(() => capture(args));
  inProcess = run.catch(() => undefined);
  return run;
}

async function capture(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await main(['node', 'bootgate', 'verify-quote', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Runs CLI invocations two at a time (the machine has two cores shared by everyone). */
async function all(jobs: (() => Promise<CliResult>)[]): Promise<CliResult[]> {
  const out: CliResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

const failureCodes = (r: CliResult): string[] => (JSON.parse(r.stdout) as { failures: { code: string }[] }).failures.map((f) => f.code).sort();

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'bootgate-cli-vq-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!haveGce)('verify-quote on the real GCE quote (fixture folder ../shared absent?)', () => {
  const f = (n: string): string => path.join(GCE_DIR, n);
  const base = ['--ak', f('ak_pub.tpmt_public.bin'), '--quote', f('quote1_sha256.tpms_attest.bin'), '--signature', f('quote1_sha256.tpmt_signature.bin')];

  it('valid with --pcrs JSON (exit 0), with --eventlog + --pcrs (exit 0), wrong nonce or PCR (exit 1)', async () => {
    const gce = loadGce();
    const pcrsJson = path.join(tmp, 'gce-pcrs.json');
    writeFileSync(pcrsJson, JSON.stringify(pcrBanksToJson(gce.quotes[1]!.pcrs)));
    const wrong = pcrBanksToJson(gce.quotes[1]!.pcrs);
    wrong.sha256!['4'] = '00'.repeat(32);
    const wrongJson = path.join(tmp, 'gce-wrong.json');
    writeFileSync(wrongJson, JSON.stringify(wrong));
    const [ok, withLog, badNonce, badPcr, lyingAboutLogged, human] = await all([
      () => spawned([...base, '--nonce', '9009', '--pcrs', pcrsJson, '--json']),
      () => bootgate([...base, '--nonce', '0x9009', '--pcrs', pcrsJson, '--eventlog', f('event_log.bin'), '--json']),
      () => spawned([...base, '--nonce', '9008', '--pcrs', pcrsJson, '--json']),
      () => bootgate([...base, '--nonce', '9009', '--pcrs', wrongJson, '--json']),
      // PCR 4 is covered by the log: the log's value wins over the wrong claim, and the quote verifies.
      () => bootgate([...base, '--nonce', '9009', '--pcrs', wrongJson, '--eventlog', f('event_log.bin'), '--json']),
      () => bootgate([...base, '--nonce', '9009', '--pcrs', wrongJson]),
    ]);
    expect(ok!.code, ok!.stderr).toBe(0);
    const okJson = JSON.parse(ok!.stdout);
    expect(okJson).toMatchObject({ valid: true, failures: [], pcrCheck: 'pcrs', pcrFileFormat: 'json', quote: { extraData: '9009', type: 'TPM_ST_ATTEST_QUOTE', signature: { alg: 'rsassa', hash: 'sha256' } } });
    expect(okJson.ak.name).toBe('000bf175bdb57297b2b289973f819863d6c9d09c236725676914f4248c9a2404c2a4');
    expect(withLog!.code, withLog!.stderr).toBe(0);
    const logJson = JSON.parse(withLog!.stdout);
    expect(logJson.pcrCheck).toBe('eventlog');
    expect(logJson.pcrSources.sha256['0']).toBe('log');
    expect(logJson.pcrSources.sha256['10']).toBe('claimed');
    expect(badNonce!.code).toBe(1);
    expect(failureCodes(badNonce!)).toEqual(['nonce_mismatch']);
    expect(badPcr!.code).toBe(1);
    expect(failureCodes(badPcr!)).toEqual(['pcr_digest_mismatch']);
    expect(lyingAboutLogged!.code, lyingAboutLogged!.stdout).toBe(0);
    expect(human!.code).toBe(1);
    expect(human!.stdout).toContain('quote: INVALID');
    expect(human!.stdout).toContain('FAIL pcr_digest_mismatch');
  });

  it('unusable input exits 2: bad hex nonce, unreadable file, garbage quote, missing option', async () => {
    const garbage = path.join(tmp, 'garbage.bin');
    writeFileSync(garbage, Buffer.from('this is not a TPM structure at all'));
    const results = await all([
      () => bootgate([...base, '--nonce', 'xyz']),
      () => bootgate([...base, '--nonce', '123']),
      () => bootgate(['--ak', path.join(tmp, 'missing.pub'), ...base.slice(2), '--nonce', '9009']),
      () => spawned(['--ak', f('ak_pub.tpmt_public.bin'), '--quote', garbage, '--signature', f('quote1_sha256.tpmt_signature.bin'), '--nonce', '9009']),
      () => bootgate(['--ak', garbage, ...base.slice(2), '--nonce', '9009']),
      () => bootgate([...base, '--nonce', '9009', '--pcrs', garbage]),
      () => bootgate([...base, '--nonce', '9009', '--eventlog', garbage]),
      () => bootgate(base),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(2);
    expect(results[0]!.stderr).toMatch(/--nonce "xyz" is not hex/);
    expect(results[2]!.stderr).toMatch(/cannot read AK file .*ENOENT/);
    expect(results[3]!.stderr).toMatch(/quote .* is malformed: TPMS_ATTEST/);
  });

  it('--nonce "" means empty extraData (this quote has 0x9009, so it fails with exit 1)', async () => {
    const r = await bootgate([...base, '--nonce', '', '--json']);
    expect(r.code).toBe(1);
    expect(failureCodes(r)).toEqual(['nonce_mismatch']);
  });
});

describe.skipIf(!haveSwtpm())('verify-quote on swtpm quotes (swtpm/tpm2-tools not installed)', () => {
  let tpm: SwtpmHandle;
  let quotes: SwtpmQuote[] = [];
  beforeAll(async () => {
    tpm = await startSwtpm();
    quotes = await produceSwtpmQuotes(tpm);
  }, 120_000);
  afterAll(async () => {
    await tpm?.stop();
  });

  const args = (q: SwtpmQuote, o: { msg?: string; sig?: string; pcrs?: string; nonce?: string } = {}): string[] => [
    '--ak', q.ak, '--quote', o.msg ?? q.msg, '--signature', o.sig ?? q.sig, '--nonce', o.nonce ?? q.nonceHex, '--pcrs', o.pcrs ?? q.pcrs, '--json',
  ];
  const tamper = (file: string, at: (len: number) => number): string => {
    const b = readFileSync(file);
    b[at(b.length)]! ^= 0x01;
    const out = path.join(tmp, `${path.basename(file)}.tampered`);
    writeFileSync(out, b);
    return out;
  };

  it('valid quotes exit 0 (RSASSA one bank, RSAPSS two banks with -F values, ECDSA two banks)', async () => {
    const [a, b, c] = await all([
      () => bootgate(args(quotes[0]!)),
      () => bootgate(args(quotes[3]!, { pcrs: quotes[3]!.pcrValues })),
      () => spawned(args(quotes[5]!)),
    ]);
    for (const r of [a, b, c]) expect(r!.code, r!.stdout + r!.stderr).toBe(0);
    expect(JSON.parse(b!.stdout).pcrFileFormat).toBe('values');
    expect(JSON.parse(c!.stdout).quote.pcrSelection).toEqual([{ hash: 'sha1', pcrs: [0, 1] }, { hash: 'sha256', pcrs: [0, 1] }]);
  });

  it('tampered msg, sig, pcrs and a wrong nonce exit 1 with the right code; garbage exits 2', async () => {
    const q = quotes[1]!;
    const garbage = path.join(tmp, 'garbage.sig');
    writeFileSync(garbage, Buffer.from([0x00, 0x14, 0x00, 0x0b, 0xff, 0xff]));
    const [msg, sig, pcrs, nonce, g1, g2] = await all([
      () => bootgate(args(q, { msg: tamper(q.msg, (n) => n - 1) })),
      () => spawned(args(q, { sig: tamper(q.sig, (n) => n - 7) })),
      () => bootgate(args(q, { pcrs: tamper(q.pcrs, (n) => n - 532 + 10) })),
      () => bootgate(args(q, { nonce: `00${q.nonceHex.slice(2)}` })),
      () => bootgate(args(q, { sig: garbage })),
      () => bootgate(args(q, { pcrs: garbage })),
    ]);
    expect(msg!.code).toBe(1);
    expect(failureCodes(msg!)).toEqual(['pcr_digest_mismatch', 'quote_signature_invalid']);
    expect(sig!.code).toBe(1);
    expect(failureCodes(sig!)).toEqual(['quote_signature_invalid']);
    expect(pcrs!.code).toBe(1);
    expect(failureCodes(pcrs!)).toEqual(['pcr_digest_mismatch']);
    expect(nonce!.code).toBe(1);
    expect(failureCodes(nonce!)).toEqual(['nonce_mismatch']);
    expect(g1!.code).toBe(2);
    expect(JSON.parse(g1!.stdout)).toEqual({ error: { code: 'malformed_signature', message: expect.stringContaining('garbage.sig') } });
    expect(g2!.code).toBe(2);
    expect(JSON.parse(g2!.stdout).error.code).toBe('malformed_pcrs');
  });
});
