/**
 * What ships for running bootgate as a service: the hardened systemd unit (checked with
 * systemd-analyze verify) and the Dockerfile (linted: this machine cannot build images, see
 * README "Running the service").
 */
import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { repoRoot } from './helpers/fixtures.ts';
import { available } from './helpers/require.ts';

const UNIT = readFileSync(join(repoRoot, 'contrib', 'systemd', 'bootgate.service'), 'utf8');
const DOCKERFILE = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

const haveSystemdAnalyze = available(
  'systemd-analyze',
  spawnSync('systemd-analyze', ['--version']).status === 0,
  'apt-get install systemd (systemd-analyze verifies contrib/systemd/bootgate.service)',
);

/** systemd-analyze verify on a copy of the unit; returns its exit status and messages. */
function verify(text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-unit-'));
  try {
    const file = join(dir, 'bootgate.service');
    writeFileSync(file, text);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('contrib/systemd/bootgate.service', () => {
  it('has the hardening an operator expects', () => {
    for (const line of ['DynamicUser=yes', 'ProtectSystem=strict', 'StateDirectory=bootgate', 'NoNewPrivileges=yes', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes', 'CapabilityBoundingSet=', 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', 'SystemCallFilter=@system-service']) {
      expect(UNIT.split('\n')).toContain(line);
    }
    expect(UNIT).toMatch(/^ExecStart=\S*node \S*bin\/bootgate\.mjs serve$/m);
    expect(UNIT).toMatch(/^Environment=BOOTGATE_DATA_DIR=\/var\/lib\/bootgate$/m);
  });

  it.runIf(haveSystemdAnalyze)('passes systemd-analyze verify, which catches a broken unit', () => {
    const ok = verify(UNIT);
    expect(ok.output).toBe('');
    expect(ok.status).toBe(0);
    const broken = verify(UNIT.replace('ProtectSystem=strict', 'ProtectSystem=sometimes'));
    expect(broken.output).toMatch(/protect system value/i);
    const typo = verify(UNIT.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    expect(typo.output).toMatch(/Unknown key( name)? 'NoNewPrivilege'/);
  });
});

describe('Dockerfile', () => {
  it('parses without a problem (dockerfile-utils, the linter of the Dockerfile language server)', () => {
    expect(validate(DOCKERFILE).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(validate('FROM node:20\nRUNN echo\n').length).toBeGreaterThan(0);
  });

  it('builds the service with production dependencies only and runs it unprivileged', () => {
    const stages = DOCKERFILE.split('\n').filter((l) => l.startsWith('FROM '));
    expect(stages.at(-1)).toMatch(/^FROM node:20-bookworm-slim$/);
    expect(DOCKERFILE).toMatch(/npm ci --omit=dev/);
    expect(DOCKERFILE).toMatch(/npm run build --if-present/);
    expect(DOCKERFILE).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(DOCKERFILE).toMatch(/^USER node$/m);
    expect(DOCKERFILE).toMatch(/^HEALTHCHECK .*\/healthz/m);
    expect(DOCKERFILE).toMatch(/^CMD \["node", "bin\/bootgate\.mjs", "serve"\]$/m);
    // Every path the image copies exists in the repository.
    for (const m of DOCKERFILE.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const p of m[1]!.split(' ')) expect(() => execFileSync('test', ['-e', join(repoRoot, p)])).not.toThrow();
    }
  });
});
