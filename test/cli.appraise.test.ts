import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { outcomeJson } from '../src/cli/commands/appraise.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { pcrBanksToJson } from '../src/tpm/pcr-file.ts';
import { toHex } from '../src/util/encoding.ts';
import { createSimHost, type ScenarioName } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';
import { runBootgateSync as bootgate } from './helpers/cli.ts';

const REFERENCE = path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json');
const tmp = mkdtempSync(path.join(tmpdir(), 'bootgate-cli-appraise-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


function evidenceFiles(name: ScenarioName) {
  const host = createSimHost({ scenario: name, ekType: 'ecc', akType: 'ecc', seed: `cli-${name}` });
  const nonce = new Uint8Array(randomBytes(32));
  const q = host.quote(nonce);
  const dir = mkdtempSync(path.join(tmp, `${name}-`));
  const files = { ak: path.join(dir, 'ak.pub'), quote: path.join(dir, 'quote.msg'), sig: path.join(dir, 'quote.sig'), log: path.join(dir, 'eventlog.bin'), pcrs: path.join(dir, 'pcrs.json') };
  writeFileSync(files.ak, host.akPub);
  writeFileSync(files.quote, q.quote);
  writeFileSync(files.sig, q.signature);
  writeFileSync(files.log, host.eventLog);
  writeFileSync(files.pcrs, JSON.stringify(pcrBanksToJson(q.pcrs)));
  const api = appraiseEvidence({ akPub: host.akPub, quote: q.quote, signature: q.signature, expectedExtraData: nonce, eventLog: host.eventLog, claimedPcrs: q.pcrs, profiles: [loadProfileFile(REFERENCE)] });
  const args = ['appraise', '--golden', REFERENCE, '--eventlog', files.log, '--ak', files.ak, '--quote', files.quote, '--signature', files.sig, '--nonce', toHex(nonce), '--pcrs', files.pcrs, '--json'];
  return { args, api: JSON.parse(outcomeJson(api)) as { verdict: string; profile: string; failures: unknown[]; pcrs: unknown }, files };
}

describe('bootgate appraise', () => {
  it.each(['kernel-swap', 'clean'] as const)('%s: same verdict, profile, failures and PCRs as appraiseEvidence; exit 0 pass / 1 fail', (name) => {
    const { args, api } = evidenceFiles(name);
    const r = bootgate(args);
    expect(r.stderr).toBe('');
    const cli = JSON.parse(r.stdout) as typeof api;
    expect(cli.verdict).toBe(api.verdict);
    expect(cli.profile).toBe(api.profile);
    expect(cli.failures).toEqual(api.failures);
    expect(cli.pcrs).toEqual(api.pcrs);
    expect(r.code).toBe(api.verdict === 'pass' ? 0 : 1);
    if (name !== 'clean') expect(cli.failures.length).toBeGreaterThan(0);
  });

  it('a wrong nonce fails with nonce_mismatch; the human output names the code', () => {
    const { args } = evidenceFiles('clean');
    const i = args.indexOf('--nonce');
    const wrong = [...args];
    wrong[i + 1] = '00'.repeat(32);
    const r = bootgate(wrong.filter((a) => a !== '--json'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^verdict: fail/);
    expect(r.stdout).toContain('nonce_mismatch');
  });

  it('unusable input exits 2: truncated log, quote without nonce', () => {
    const { args, files } = evidenceFiles('clean');
    const truncated = path.join(tmp, 'truncated.bin');
    writeFileSync(truncated, new Uint8Array(40));
    const a1 = [...args];
    a1[a1.indexOf('--eventlog') + 1] = truncated;
    expect(bootgate(a1).code).toBe(2);
    expect(bootgate(['appraise', '--golden', REFERENCE, '--eventlog', files.log, '--ak', files.ak, '--quote', files.quote, '--signature', files.sig]).code).toBe(2);
  });
});
