/**
 * `bootgate hosts list|show|changes` and `bootgate drift list|accept` against a running service
 * (contract §5): the server from --server or BOOTGATE_URL, the key from BOOTGATE_API_KEY, human
 * tables by default, JSON with --json, and a refusal shows the server's code and message.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createSimHost, fakeImage, HostAgent } from '../tpm-sim/index.ts';
import { main } from '../src/cli/main.ts';
import { runBootgate, type CliRun } from './helpers/cli.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
let good: HostAgent;
let rolled: HostAgent;

beforeAll(async () => {
  s = await startTestServer();
  const agents = [0, 1].map((i) => new HostAgent(createSimHost({ hostId: `cli-${process.pid}-${i}` }), s.baseUrl));
  [good, rolled] = agents as [HostAgent, HostAgent];
  for (const a of agents) {
    await a.enroll([SIM_PROFILE]);
    await a.activate();
    expect((await a.attest()).verdict).toBe('pass');
  }
  rolled.host.platform.grub.contents = fakeImage('grub 2.14', rolled.host.platform.grub.contents.length);
  rolled.host.reboot();
  expect((await rolled.attest()).verdict).toBe('fail');
});
afterAll(async () => {
  await s?.stop();
});

/** The CLI in this process (each child process costs seconds of tsx start-up). */
async function cli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const saved = { ...process.env };
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    const code = await main(['node', 'bootgate', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.env = saved;
  }
}

const as = (key: string) => ({ BOOTGATE_URL: s.baseUrl, BOOTGATE_API_KEY: key });

describe('bootgate hosts', () => {
  it('lists hosts as a table (the real binary, server and key from the environment)', async () => {
    const r = await runBootgate(['hosts', 'list'], as(s.schedulerKey));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^HOST\s+TRUST\s+PROFILE/);
    expect(r.stdout).toMatch(new RegExp(`${good.host.hostId}\\s+trusted\\s+${SIM_PROFILE}@1`));
    expect(r.stdout).toMatch(new RegExp(`${rolled.host.hostId}\\s+untrusted.*bootloader_not_allowed`));
    expect(r.stdout).toContain('2 hosts');
  });

  it('--json --trust prints the listed hosts as JSON; --server wins over BOOTGATE_URL', async () => {
    const r = await cli(['hosts', 'list', '--json', '--trust', 'untrusted', '--server', s.baseUrl], { BOOTGATE_URL: 'http://127.0.0.1:1', BOOTGATE_API_KEY: s.schedulerKey });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.hosts.map((h: { hostId: string }) => h.hostId)).toEqual([rolled.host.hostId]);
    expect(j.next).toBeNull();
    const limited = await cli(['hosts', 'list', '--json', '--limit', '1'], as(s.schedulerKey));
    expect(JSON.parse(limited.stdout).hosts).toHaveLength(1);
  });

  it('show and changes name the host, its failure and its changed bootloader', async () => {
    const show = await cli(['hosts', 'show', rolled.host.hostId], as(s.schedulerKey));
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/trust\s+untrusted/);
    expect(show.stdout).toContain('bootloader_not_allowed');
    expect(show.stdout).toMatch(/recent appraisals\nAPPRAISED\s+VERDICT/);
    const changes = await cli(['hosts', 'changes', rolled.host.hostId], as(s.schedulerKey));
    expect(changes.code, changes.stderr).toBe(0);
    expect(changes.stdout).toMatch(/^4\s+bootloader\s+modified\s+EV_EFI_BOOT_SERVICES_APPLICATION/m);
    expect(changes.stdout).toMatch(/\\EFI\\sim\\grubx64\.efi/i);
    const json = JSON.parse((await cli(['hosts', 'changes', rolled.host.hostId, '--json'], as(s.schedulerKey))).stdout);
    expect(json.changes[0]).toMatchObject({ pcr: 4, component: 'bootloader', change: 'modified' });
  });

  it('a refusal shows the server code and message, as JSON under --json, with exit 1', async () => {
    const r = await cli(['hosts', 'show', 'no-such-host'], as(s.schedulerKey));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bootgate hosts show: unknown_host: host no-such-host is not enrolled/);
    const j = await cli(['hosts', 'show', 'no-such-host', '--json'], as(s.schedulerKey));
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({ error: { code: 'unknown_host', message: 'host no-such-host is not enrolled' } });
    const badKey = await cli(['hosts', 'list'], as('not-a-key-of-this-service'));
    expect(badKey.stderr).toMatch(/^bootgate hosts list: invalid_credentials:/);
  });

  it('without a server, a key or an answer: exit 2 with a code saying which', async () => {
    expect((await cli(['hosts', 'list', '--json'], { BOOTGATE_URL: undefined, BOOTGATE_API_KEY: 'k'.repeat(20) })).stdout).toContain('"no_server"');
    expect((await cli(['hosts', 'list', '--json'], { BOOTGATE_URL: s.baseUrl, BOOTGATE_API_KEY: undefined })).stdout).toContain('"no_api_key"');
    expect((await cli(['hosts', 'list'], { BOOTGATE_URL: s.baseUrl, BOOTGATE_API_KEY: undefined })).stderr).toMatch(/^bootgate hosts list: set BOOTGATE_API_KEY/);
    const down = await cli(['hosts', 'list', '--json'], { BOOTGATE_URL: 'http://127.0.0.1:1', BOOTGATE_API_KEY: s.schedulerKey });
    expect(down.code).toBe(2);
    expect(JSON.parse(down.stdout).error.code).toBe('server_unreachable');
    expect((await cli(['hosts', 'list', '--trust', 'sideways'], as(s.schedulerKey))).code).toBe(2);
  });
});

describe('bootgate drift', () => {
  it('lists the group, refuses a scheduler, and accepts as admin', async () => {
    const list = await cli(['drift', 'list'], as(s.schedulerKey));
    expect(list.code, list.stderr).toBe(0);
    const groupId = /^([0-9a-f]{32})\s+1\s+/m.exec(list.stdout)?.[1];
    expect(groupId, list.stdout).toBeDefined();
    expect(list.stdout).toContain('PCR 4 bootloader modified');
    const detailed = await cli(['drift', 'list', '--changes'], as(s.schedulerKey));
    expect(detailed.stdout).toContain(`group ${groupId}: 1 host (${rolled.host.hostId})`);

    const refused = await runBootgate(['drift', 'accept', groupId!, '--note', 'grub 2.14 rollout', '--json'], as(s.schedulerKey));
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('forbidden');

    const ok = await cli(['drift', 'accept', groupId!, '--note', 'grub 2.14 rollout'], as(s.adminKey));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`drift group ${groupId} wrote profile ${SIM_PROFILE}@2: 1 change now allowed`);
    const again = await cli(['drift', 'accept', groupId!, '--note', 'grub 2.14 rollout', '--json'], as(s.adminKey));
    expect(JSON.parse(again.stdout).profile).toBe(`${SIM_PROFILE}@2`);
    expect((await rolled.attest()).verdict).toBe('pass');
    expect((await cli(['drift', 'list'], as(s.schedulerKey))).stdout).toBe('no failing hosts\n');
  });
});
