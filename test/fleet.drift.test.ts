/**
 * Fleet change management end to end over HTTP with tpm-sim hosts (contract §6): three hosts
 * pass; two reboot with the same new bootloader, one with an option ROM; drift shows two groups;
 * accepting the larger one (with parallel requests) writes one profile version, on which its two
 * hosts pass while the third still fails; the census shows the old and the new bootloader.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createSimHost, fakeImage, HostAgent, type SimHost } from '../tpm-sim/index.ts';
import { PNP0A03 } from '../tpm-sim/boot/efi.ts';
import { keyFingerprint } from '../src/http/auth.ts';
import {
  AppraisalListResponseSchema,
  CensusResponseSchema,
  ChangesResponseSchema,
  DriftAcceptResponseSchema,
  DriftAcceptancesResponseSchema,
  DriftListResponseSchema,
  HostListResponseSchema,
} from '../src/http/response-schemas.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

let counter = 0;
async function enrolledHost(scenario?: 'secure-boot-off' | 'unknown-bootloader'): Promise<HostAgent> {
  const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `drift-${process.pid}-${counter++}`, ...(scenario ? { scenario } : {}) });
  const agent = new HostAgent(host, s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  return agent;
}

function newBootloader(host: SimHost, label: string): void {
  host.platform.grub.contents = fakeImage(label, host.platform.grub.contents.length);
  host.reboot();
}

function newOptionRom(host: SimHost): void {
  host.platform.drivers.push({
    devicePath: [{ kind: 'acpi', hid: PNP0A03, uid: 0 }, { kind: 'pci', device: 0x04, fn: 0 }, { kind: 'offset', start: 0n, end: 0xffffn }],
    image: fakeImage('new NIC option ROM', 4096),
  });
  host.reboot();
}

const codes = (r: Record<string, unknown>): string[] => [...new Set((r.failures as Array<{ code: string }>).map((f) => f.code))].sort();

describe('drift: a bootloader rollout accepted in one audited step', () => {
  it('groups, accepts once under parallel requests, and the census shows both bootloaders', async () => {
    const [a, b, c] = await Promise.all([enrolledHost(), enrolledHost(), enrolledHost()]) as [HostAgent, HostAgent, HostAgent];
    for (const agent of [a, b, c]) expect((await agent.attest()).verdict).toBe('pass');
    const firstPass = await s.call('GET', `/v1/hosts/${a.host.hostId}/appraisals`, { key: s.schedulerKey });
    const passId = firstPass.json.appraisals[0].appraisalId as string;

    newBootloader(a.host, 'grub 2.14 (vendor rollout)');
    newBootloader(b.host, 'grub 2.14 (vendor rollout)');
    newOptionRom(c.host);
    for (const agent of [a, b]) expect(codes(await agent.attest())).toEqual(['bootloader_not_allowed']);
    expect(codes(await c.attest())).toEqual(['driver_not_allowed']);

    // What changed for one host: exactly its bootloader, with both digests, against its last pass.
    const ch = await s.call('GET', `/v1/hosts/${a.host.hostId}/changes`, { key: s.schedulerKey });
    expect(ch.status).toBe(200);
    ChangesResponseSchema.parse(ch.json);
    expect(ch.json.from).toBe(passId);
    expect(ch.json.bank).toBe('sha256');
    expect(ch.json.changes).toHaveLength(1);
    expect(ch.json.changes[0]).toMatchObject({ pcr: 4, component: 'bootloader', change: 'modified', eventType: 'EV_EFI_BOOT_SERVICES_APPLICATION' });
    const { before, after } = ch.json.changes[0];
    expect(before.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(after.digest).not.toBe(before.digest);

    // Drift: two groups, the larger first, each naming its hosts and change set.
    const drift = await s.call('GET', '/v1/drift', { key: s.schedulerKey });
    expect(drift.status).toBe(200);
    DriftListResponseSchema.parse(drift.json);
    const mine = drift.json.groups.filter((g: { hosts: string[] }) => g.hosts.some((h) => [a, b, c].some((x) => x.host.hostId === h)));
    expect(mine.map((g: { count: number }) => g.count)).toEqual([2, 1]);
    const [big, small] = mine;
    expect(big.hosts).toEqual([a.host.hostId, b.host.hostId].sort());
    expect(big.profile).toBe(`${SIM_PROFILE}@1`);
    expect(big.changes).toHaveLength(1);
    expect(big.changes[0]).toMatchObject({ component: 'bootloader', change: 'modified' });
    expect(big.blockers).toEqual([]);
    expect(small.changes[0]).toMatchObject({ pcr: 2, component: 'option_rom', change: 'added' });
    expect(ch.json.groupId).toBe(big.groupId);

    // A scheduler reads but cannot accept; an empty note is refused.
    expect((await s.call('POST', `/v1/drift/${big.groupId}/accept`, { key: s.schedulerKey, body: { note: 'x' } })).status).toBe(403);
    expect((await s.call('POST', `/v1/drift/${big.groupId}/accept`, { key: s.adminKey, body: { note: '  ' } })).status).toBe(400);

    // Five concurrent accepts write one version and one audit record.
    const note = 'grub 2.14 vendor rollout, change ticket CHG-1234';
    const answers = await Promise.all(Array.from({ length: 5 }, () => s.call('POST', `/v1/drift/${big.groupId}/accept`, { key: s.adminKey, body: { note } })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    for (const r of answers) DriftAcceptResponseSchema.parse(r.json);
    expect(new Set(answers.map((r) => r.json.profile))).toEqual(new Set([`${SIM_PROFILE}@2`]));
    const created = answers.find((r) => r.status === 201)!;
    expect(created.json.accepted).toHaveLength(1);
    expect(created.json.accepted[0].after.digest).toBe(after.digest);
    const versions = (await s.call('GET', '/v1/golden', { key: s.adminKey })).json.profiles.filter((p: { name: string }) => p.name === SIM_PROFILE);
    expect(versions.map((p: { version: string }) => p.version)).toEqual(['1', '2']);
    // The old bootloader stays allowed: the rollout is still under way.
    const v2 = (await s.call('GET', `/v1/golden/${SIM_PROFILE}?version=2`, { key: s.adminKey })).json;
    const bootloaders = v2.bootChain.bootloader.flatMap((e: { digests: string[] }) => e.digests);
    expect(bootloaders).toEqual(expect.arrayContaining([before.digest, after.digest]));

    const audit = await s.call('GET', '/v1/drift/acceptances', { key: s.adminKey });
    DriftAcceptancesResponseSchema.parse(audit.json);
    const acc = audit.json.acceptances.filter((x: { groupId: string }) => x.groupId === big.groupId);
    expect(acc).toHaveLength(1);
    expect(acc[0]).toMatchObject({ keyId: keyFingerprint(s.adminKey), note, fromVersion: '1', toVersion: '2', hostIds: big.hosts });
    expect(acc[0].changes[0].after.digest).toBe(after.digest);
    expect(JSON.stringify(audit.json)).not.toContain(s.adminKey);

    // Next attestations: the group's hosts pass on version 2; the third still fails.
    for (const agent of [a, b]) {
      const r = await agent.attest();
      expect(r.verdict).toBe('pass');
      expect(r.profile).toBe(`${SIM_PROFILE}@2`);
    }
    expect(codes(await c.attest())).toEqual(['driver_not_allowed']);
    // The accepted group is gone; accepting it again is a 404.
    const after2 = await s.call('GET', '/v1/drift', { key: s.schedulerKey });
    expect(after2.json.groups.some((g: { groupId: string }) => g.groupId === big.groupId)).toBe(false);
    expect(after2.json.groups.find((g: { groupId: string }) => g.groupId === small.groupId)?.count).toBe(1);
    expect((await s.call('POST', `/v1/drift/${big.groupId}/accept`, { key: s.adminKey, body: { note } })).status).toBe(404);

    // Trust events say which profile version decided.
    const events = (await s.call('GET', '/v1/events?after=0&timeout=0&limit=1000', { key: s.schedulerKey })).json.events;
    const trustedAgain = events.filter((e: { hostId: string; kind: string }) => e.hostId === a.host.hostId && e.kind === 'trusted');
    expect(trustedAgain.at(-1).detail.profile).toBe(`${SIM_PROFILE}@2`);
    expect(events.find((e: { hostId: string; kind: string }) => e.hostId === c.host.hostId && e.kind === 'untrusted').detail).toMatchObject({ profile: `${SIM_PROFILE}@1`, codes: ['driver_not_allowed'] });

    // The census of the latest version: the old bootloader still used by the third host, the new by two.
    const census = await s.call('GET', `/v1/golden/${SIM_PROFILE}/census`, { key: s.schedulerKey });
    expect(census.status).toBe(200);
    CensusResponseSchema.parse(census.json);
    expect(census.json.profile).toBe(`${SIM_PROFILE}@2`);
    const bl = census.json.components.find((x: { component: string }) => x.component === 'bootloader');
    const byDigest = new Map(bl.values.map((v: { digest: string; hostIds: string[] }) => [v.digest, v.hostIds]));
    expect(byDigest.get(before.digest)).toEqual([c.host.hostId]);
    expect(byDigest.get(after.digest)).toEqual([a.host.hostId, b.host.hostId].sort());

    // History: newest first, in pages that never repeat or skip.
    const page1 = await s.call('GET', `/v1/hosts/${a.host.hostId}/appraisals?limit=2`, { key: s.schedulerKey });
    AppraisalListResponseSchema.parse(page1.json);
    expect(page1.json.appraisals.map((x: { verdict: string }) => x.verdict)).toEqual(['pass', 'fail']);
    const page2 = await s.call('GET', `/v1/hosts/${a.host.hostId}/appraisals?limit=2&before=${page1.json.next}`, { key: s.schedulerKey });
    expect(page2.json.appraisals.map((x: { appraisalId: string }) => x.appraisalId)).toEqual([passId]);
    expect(page2.json.next).toBeNull();
  });

  it('a host that never passed: its change set is what its appraisal refused, and accepting it lets the host pass', async () => {
    const agent = await enrolledHost('unknown-bootloader');
    expect(codes(await agent.attest())).toEqual(['bootloader_not_allowed']);
    const ch = (await s.call('GET', `/v1/hosts/${agent.host.hostId}/changes`, { key: s.schedulerKey })).json;
    expect(ch.from).toBeNull();
    expect(ch.changes).toEqual([expect.objectContaining({ pcr: 4, component: 'bootloader', change: 'added' })]);
    const r = await s.call('POST', `/v1/drift/${ch.groupId}/accept`, { key: s.adminKey, body: { note: 'new model, grub built in house' } });
    expect(r.status).toBe(201);
    expect((await agent.attest()).verdict).toBe('pass');
  });

  it('refuses with 409 a group whose hosts turned Secure Boot off', async () => {
    const agent = await enrolledHost('secure-boot-off');
    expect(codes(await agent.attest())).toEqual(['secure_boot_disabled']);
    const g = (await s.call('GET', '/v1/drift', { key: s.schedulerKey })).json.groups.find((x: { hosts: string[] }) => x.hosts.includes(agent.host.hostId));
    expect(g.blockers).toEqual(['secure_boot_disabled']);
    const r = await s.call('POST', `/v1/drift/${g.groupId}/accept`, { key: s.adminKey, body: { note: 'please' } });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('change_not_acceptable');
    expect(r.json.error.message).toMatch(/Secure Boot/);
  });

  it('pages GET /v1/hosts with a cursor, each host once', async () => {
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const r = await s.call('GET', `/v1/hosts?limit=2${next ? `&after=${next}` : ''}`, { key: s.schedulerKey });
      expect(r.status).toBe(200);
      HostListResponseSchema.parse(r.json);
      expect(r.json.hosts.length).toBeLessThanOrEqual(2);
      seen.push(...r.json.hosts.map((h: { hostId: string }) => h.hostId));
      next = r.json.next;
    } while (next !== null);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (const bad of ['limit=0', 'limit=1001', 'after=%21%21', `after=${Buffer.from('zzz').toString('base64url')}`]) {
      const r = await s.call('GET', `/v1/hosts?${bad}`, { key: s.schedulerKey });
      expect(r.status, bad).toBe(400);
    }
  });
});
