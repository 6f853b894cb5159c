/**
 * The event-level diff between two boots (contract §6 `changes`), the drift identity, and the
 * plan that accepts a change set: pure functions over parsed logs, no server.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { diffSequences } from '../src/appraisal/sequence-diff.ts';
import { diffBoots, type BootChange } from '../src/appraisal/diff.ts';
import { blockingCodes, changeSetId } from '../src/appraisal/change-set.ts';
import { planAcceptance } from '../src/appraisal/acceptance.ts';
import { parseEventLog } from '../src/eventlog/index.ts';
import type { EventLog } from '../src/eventlog/types.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { applyScenario, bootEvents, encodeEventLog, fakeImage, LOG_BANKS, referencePlatform, type Platform, type ScenarioName } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';

const reference = loadProfileFile(path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json'));
const opts = { bank: reference.bank, pcrs: reference.pcrs, profile: reference };

function logOf(p: Platform): EventLog {
  return parseEventLog(encodeEventLog(LOG_BANKS, bootEvents(p)));
}
const clean = logOf(referencePlatform());
const scenario = (name: ScenarioName): EventLog => logOf(applyScenario(referencePlatform(), name));

function withBootloader(label: string): Platform {
  const p = referencePlatform();
  p.grub.contents = fakeImage(label, p.grub.contents.length);
  return p;
}

/** Applies an edit script to `a`, which must give `b`. */
function apply(a: number[], b: number[], ops: ReturnType<typeof diffSequences>): number[] {
  const out: number[] = [];
  for (const o of ops) {
    if (o.op === 'equal') {
      expect(a[o.a]).toBe(b[o.b]);
      out.push(a[o.a] as number);
    } else if (o.op === 'insert') out.push(b[o.b] as number);
  }
  return out;
}

function lcsLength(a: number[], b: number[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
    }
  }
  return dp[a.length]![b.length]!;
}

describe('diffSequences (Myers)', () => {
  it('produces a valid edit script with the fewest edits (checked against an LCS table)', () => {
    const seq = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 30 });
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const ops = diffSequences(a, b);
        expect(apply(a, b, ops)).toEqual(b);
        expect(ops.filter((o) => o.op === 'delete').map((o) => (o.op === 'delete' ? o.a : -1))).toEqual(
          ops.filter((o) => o.op === 'delete').map((o) => (o.op === 'delete' ? o.a : -1)).sort((x, y) => x - y),
        );
        const edits = ops.filter((o) => o.op !== 'equal').length;
        expect(edits).toBe(a.length + b.length - 2 * lcsLength(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('beyond maxEdits it falls back to removing and adding the differing middle, still a valid script', () => {
    const a = Array.from({ length: 400 }, (_, i) => i);
    const b = Array.from({ length: 400 }, (_, i) => 1000 + i);
    const ops = diffSequences([7, ...a, 9], [7, ...b, 9], 50);
    expect(apply([7, ...a, 9], [7, ...b, 9], ops)).toEqual([7, ...b, 9]);
    expect(ops.filter((o) => o.op === 'delete')).toHaveLength(400);
    expect(ops.filter((o) => o.op === 'insert')).toHaveLength(400);
  });
});

describe('diffBoots over tpm-sim boots', () => {
  it('the same boot has no changes', () => {
    expect(diffBoots(clean, logOf(referencePlatform()), opts)).toEqual([]);
  });

  it('an inserted option ROM is one added option_rom in PCR 2, not every later event modified', () => {
    const changes = diffBoots(clean, scenario('option-rom-implant'), opts);
    expect(changes).toHaveLength(1);
    const [c] = changes as [BootChange];
    expect(c).toMatchObject({ pcr: 2, component: 'option_rom', eventType: 'EV_EFI_BOOT_SERVICES_DRIVER', change: 'added' });
    expect(c.before).toBeUndefined();
    expect(c.after?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(c.after?.data?.length).toBe('8192');
  });

  it('a changed bootloader is one modified bootloader with both digests and its path', () => {
    const changes = diffBoots(clean, scenario('unknown-bootloader'), opts);
    expect(changes).toHaveLength(1);
    const [c] = changes as [BootChange];
    expect(c).toMatchObject({ pcr: 4, component: 'bootloader', eventType: 'EV_EFI_BOOT_SERVICES_APPLICATION', change: 'modified' });
    expect(c.before?.digest).not.toBe(c.after?.digest);
    expect(c.before?.eventIndex).toBe(c.after?.eventIndex);
    expect(String(c.after?.data?.path)).toMatch(/grubx64\.efi$/i);
    // The digest is the image's hash: no digest can verify the path, so it carries no dataVerified (as in eventlog --json).
    expect(c.after?.dataVerified).toBeUndefined();
  });

  it('a kernel swap is the kernel modified in PCR 4 and in PCR 9, each named kernel', () => {
    const changes = diffBoots(clean, scenario('kernel-swap'), opts);
    expect(changes.map((c) => [c.pcr, c.component, c.change])).toEqual([
      [4, 'kernel', 'modified'],
      [9, 'kernel', 'modified'],
    ]);
  });

  it('Secure Boot turned off: the SecureBoot variable is modified, with its decoded state', () => {
    const changes = diffBoots(clean, scenario('secure-boot-off'), opts);
    const sb = changes.find((c) => c.component === 'secure_boot');
    expect(sb).toMatchObject({ pcr: 7, change: 'modified', eventType: 'EV_EFI_VARIABLE_DRIVER_CONFIG' });
    expect(sb?.before?.data).toMatchObject({ variable: 'SecureBoot', enabled: true });
    expect(sb?.after?.data).toMatchObject({ variable: 'SecureBoot', enabled: false });
  });

  it('the command line shows its text; compared by digest, verified data says so by omission', () => {
    const changes = diffBoots(clean, scenario('cmdline-tamper'), opts);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ pcr: 8, component: 'cmdline', change: 'modified' });
    expect(String(changes[0]?.after?.data?.text)).toContain('init=/bin/sh');
    expect(changes[0]?.after?.dataVerified).toBeUndefined();
  });

  it('data that the digest does not cover is marked dataVerified: false, and never makes two events equal', () => {
    // Same digest, forged data: the events compare equal (digest), so no change at all.
    const forged = parseEventLog(encodeEventLog(LOG_BANKS, bootEvents(referencePlatform()).map((e) => (e.component === 'cmdline' ? { ...e, data: new TextEncoder().encode('kernel_cmdline: forged\0') } : e))));
    expect(diffBoots(clean, forged, opts)).toEqual([]);
    // Different digest, data kept: a change whose data is not verified.
    const reDigested = parseEventLog(encodeEventLog(LOG_BANKS, bootEvents(referencePlatform()).map((e) => (e.component === 'cmdline' ? { ...e, digests: { ...e.digests, sha256: new Uint8Array(32).fill(7) } } : e))));
    const changes = diffBoots(clean, reDigested, opts);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.after?.digest).toBe('07'.repeat(32));
    expect(changes[0]?.after?.dataVerified).toBe(false);
    expect(changes[0]?.before?.dataVerified).toBeUndefined();
  });

  it('without a passing boot to compare with, every measured event of the appraised PCRs is added', () => {
    const changes = diffBoots(undefined, clean, opts);
    expect(changes.length).toBeGreaterThan(20);
    expect(changes.every((c) => c.change === 'added' && reference.pcrs.includes(c.pcr))).toBe(true);
  });

  it('digests are those of the bank asked for', () => {
    const sha1 = diffBoots(clean, scenario('unknown-bootloader'), { ...opts, bank: 'sha1' });
    expect(sha1[0]?.after?.digest).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('drift identity', () => {
  const a = diffBoots(clean, logOf(withBootloader('grub 2.14')), opts);

  it('is the same for the same change set, whatever the event indexes, data and order', () => {
    const shifted = a.map((c) => ({ ...c, after: { ...c.after!, eventIndex: c.after!.eventIndex + 3, data: { text: 'x' } } }));
    expect(changeSetId('p', 'sha256', shifted, [])).toBe(changeSetId('p', 'sha256', a, []));
    const two = diffBoots(clean, scenario('kernel-swap'), opts);
    expect(changeSetId('p', 'sha256', [...two].reverse(), [])).toBe(changeSetId('p', 'sha256', two, []));
    expect(changeSetId('p', 'sha256', a, [])).toMatch(/^[0-9a-f]{32}$/);
  });

  it('differs with another new value, another profile, or a failure no change can cure', () => {
    const b = diffBoots(clean, logOf(withBootloader('grub 2.15')), opts);
    const ids = new Set([
      changeSetId('p', 'sha256', a, []),
      changeSetId('p', 'sha256', b, []),
      changeSetId('q', 'sha256', a, []),
      changeSetId('p', 'sha256', a, ['pcr_replay_mismatch']),
    ]);
    expect(ids.size).toBe(4);
  });

  it('blocking codes are those an allow-list cannot cure', () => {
    expect(blockingCodes([{ code: 'bootloader_not_allowed' }, { code: 'secure_boot_disabled' }, { code: 'nonce_reused' }, { code: 'secure_boot_disabled' }])).toEqual([
      'nonce_reused',
      'secure_boot_disabled',
    ]);
  });
});

describe('planAcceptance', () => {
  const rollout = logOf(withBootloader('grub 2.14'));

  it('writes the next version that allows the new bootloader and keeps the old one', () => {
    const plan = planAcceptance(reference, '2', [{ hostId: 'h1', baseline: clean, latest: rollout }]);
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.profile.version).toBe('2');
    const oldDigests = reference.bootChain?.bootloader?.flatMap((e) => e.digests) ?? [];
    const newDigests = plan.profile.bootChain?.bootloader?.flatMap((e) => e.digests) ?? [];
    expect(newDigests).toEqual(expect.arrayContaining(oldDigests));
    expect(newDigests).toContain(plan.accepted[0]?.after?.digest);
    expect(plan.accepted).toHaveLength(1);
    // Accepting again against the new version has nothing left to do.
    const again = planAcceptance(plan.profile, '3', [{ hostId: 'h1', baseline: clean, latest: rollout }]);
    expect(again).toMatchObject({ ok: false, reason: 'nothing_to_accept' });
  });

  it('accepts an option ROM as one more allowed driver', () => {
    const plan = planAcceptance(reference, '2', [{ hostId: 'h1', baseline: clean, latest: scenario('option-rom-implant') }]);
    expect(plan.ok && plan.profile.drivers?.flatMap((d) => d.digests).length).toBe((reference.drivers?.flatMap((d) => d.digests).length ?? 0) + 1);
  });

  it.each(['secure-boot-off', 'dbx-rollback'] as const)('refuses %s: a profile cannot allow it without dropping a requirement', (name) => {
    const plan = planAcceptance(reference, '2', [{ hostId: 'h1', baseline: clean, latest: scenario(name) }]);
    expect(plan).toMatchObject({ ok: false, reason: 'not_acceptable' });
    expect(plan.ok ? '' : plan.problems.join('\n')).toMatch(name === 'secure-boot-off' ? /Secure Boot/ : /dbx/);
  });

  it('refuses a failing event that did not change since the host last passed (the profile was edited meanwhile)', () => {
    const stricter = { ...reference, bootChain: { ...reference.bootChain, bootloader: [{ digests: ['00'.repeat(32)] }] } };
    const plan = planAcceptance(stricter, '2', [{ hostId: 'h1', baseline: clean, latest: clean }]);
    expect(plan).toMatchObject({ ok: false, reason: 'incomplete' });
  });

  it('learns from every host of the group, and the secure boot requirement stays as it was', () => {
    const plan = planAcceptance(reference, '2', [
      { hostId: 'h1', baseline: clean, latest: rollout },
      { hostId: 'h2', baseline: undefined, latest: rollout },
    ]);
    expect(plan.ok && plan.profile.secureBoot?.required).toBe(true);
    expect(plan.ok && plan.profile.secureBoot?.dbxRequired).toEqual(reference.secureBoot?.dbxRequired);
  });
});
