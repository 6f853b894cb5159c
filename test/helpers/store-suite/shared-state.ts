/** The store suite, part 2: what replicas share: keys, profiles, secrets, settings, trust events, webhook deliveries. */
import { describe, it, expect } from 'vitest';
import { compareVersions } from '../../../src/store/profile-versions.ts';
import type { StoreChange } from '../../../src/store/types.ts';
import { NOW, later, waitFor, type SuiteContext } from './fixtures.ts';

export function sharedStateTests(name: string, ctx: SuiteContext): void {
  describe(`${name} store: keys, profiles, secrets, releases, settings`, () => {
    it('keeps signing keys, retires them once, and reseals a key only from the value expected', async () => {
      await ctx.store.putSigningKey({ kid: 'k1', privateJwk: '{"d":"x"}', publicJwk: '{}', createdAt: NOW.toISOString() });
      await ctx.store.retireSigningKey('k1', later(1), later(301));
      await ctx.store.retireSigningKey('k1', later(5), later(999));
      expect(await ctx.store.resealSigningKey('k1', 'not-what-is-stored', 'sealed-2')).toBe(false);
      expect(await ctx.store.resealSigningKey('k1', '{"d":"x"}', 'sealed-1')).toBe(true);
      expect(await ctx.store.listSigningKeys()).toEqual([
        { kid: 'k1', privateJwk: 'sealed-1', publicJwk: '{}', createdAt: NOW.toISOString(), retiredAt: later(1).toISOString(), retireAfter: later(301).toISOString() },
      ]);
    });

    it('answers the latest profile version by version order, not storage order', async () => {
      for (const v of ['1.10', '1.9', '2', '1.2.3']) {
        await ctx.store.putProfile({ name: 'ref', version: v, document: `{"v":"${v}"}`, source: 'api', storedAt: NOW.toISOString() });
      }
      expect((await ctx.store.getProfile('ref'))?.version).toBe('2');
      expect(await ctx.store.latestProfileVersion('ref')).toBe('2');
      expect(await ctx.store.latestProfileVersion('none')).toBeUndefined();
      expect((await ctx.store.getProfile('ref', '1.9'))?.document).toBe('{"v":"1.9"}');
      expect(await ctx.store.getProfile('ref', '3')).toBeUndefined();
      expect((await ctx.store.listProfiles()).map((p) => p.version)).toEqual(['1.2.3', '1.9', '1.10', '2']);
      expect(compareVersions('1.0', '1.0.1')).toBe(-1);
      expect(compareVersions('b', 'a')).toBe(1);
    });

    it('stores secrets and releases in order', async () => {
      await ctx.store.putSecret({ name: 's', ciphertext: 'c1', policy: { hosts: ['h1'] }, updatedAt: NOW.toISOString() });
      await ctx.store.putSecret({ name: 's', ciphertext: 'c2', policy: {}, updatedAt: later(1).toISOString() });
      expect(await ctx.store.getSecret('s')).toEqual({ name: 's', ciphertext: 'c2', policy: {}, updatedAt: later(1).toISOString() });
      const base = { secretName: 's', hostId: 'h1', tokenId: 't', appraisalId: 'a', caller: '127.0.0.1', code: 'ok', reason: 'r', at: NOW.toISOString() };
      await ctx.store.recordRelease({ ...base, releaseId: 'r1', outcome: 'released' });
      await ctx.store.recordRelease({ ...base, releaseId: 'r2', secretName: 'other', hostId: null, tokenId: null, appraisalId: null, outcome: 'refused' });
      expect((await ctx.store.listReleases('s')).map((r) => r.releaseId)).toEqual(['r1']);
      expect((await ctx.store.listReleases()).map((r) => r.releaseId)).toEqual(['r1', 'r2']);
    });

    it('keeps the first value of a setting, whichever store writes first', async () => {
      const other = await ctx.another();
      expect(await ctx.store.getSetting('x')).toBeUndefined();
      const [a, b] = await Promise.all([ctx.store.putSettingIfAbsent('x', 'from-a'), other.putSettingIfAbsent('x', 'from-b')]);
      expect(a).toBe(b);
      expect(await other.putSettingIfAbsent('x', 'later')).toBe(a);
      expect(await ctx.store.getSetting('x')).toBe(a);
    });
  });

  describe(`${name} store: trust events and webhook deliveries`, () => {
    it('numbers trust events in order and reads exactly the later ones', async () => {
      const e1 = await ctx.store.appendTrustEvent({ hostId: 'h1', kind: 'enrolled', at: NOW.toISOString() });
      const e2 = await ctx.store.appendTrustEvent({ hostId: 'h1', kind: 'untrusted', appraisalId: 'a', detail: { codes: ['x'] }, at: NOW.toISOString() });
      expect(e2.seq).toBeGreaterThan(e1.seq);
      expect(await ctx.store.trustEventsAfter(e1.seq, 10)).toEqual([e2]);
      expect(await ctx.store.trustEventsAfter(0, 1)).toEqual([e1]);
    });

    it('events appended concurrently through two stores form one gap-free order that readers never skip', async () => {
      const other = await ctx.another();
      const seen: number[] = [];
      let after = 0;
      let appending = true;
      const reader = (async () => {
        while (appending || (await ctx.store.trustEventsAfter(after, 1000)).length > 0) {
          const batch = await other.trustEventsAfter(after, 1000);
          for (const e of batch) seen.push(e.seq);
          after = batch.at(-1)?.seq ?? after;
          // Yield to the event loop: a store may answer reads at once and commit writes on the next turn.
          await new Promise((r) => setImmediate(r));
        }
      })();
      const appended = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 ? other : ctx.store).appendTrustEvent({ hostId: `h${i}`, kind: 'trusted', at: NOW.toISOString() })),
      );
      appending = false;
      await reader;
      const all = appended.map((e) => e.seq).sort((a, b) => a - b);
      expect(new Set(all).size).toBe(60);
      // The reader, following `after` as a client does, saw every event once, in order.
      expect(seen).toEqual(all);
    });

    it('writes a delivery per webhook with each event; one claimant at a time, leases expire, finish removes or reschedules', async () => {
      await ctx.store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 'sealed-a', updatedAt: NOW.toISOString() });
      expect(await ctx.store.putWebhook({ id: 'w2', url: 'http://127.0.0.1/b', secret: 'sealed-b', updatedAt: NOW.toISOString() })).toBe('created');
      const e = await ctx.store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: NOW.toISOString() });
      expect(await ctx.store.pendingWebhookDeliveries()).toBe(2);
      const other = await ctx.another();
      const [mine, theirs] = await Promise.all([ctx.store.claimWebhookDeliveries('a', NOW, later(30), 1), other.claimWebhookDeliveries('b', NOW, later(30), 10)]);
      expect(mine.length + theirs.length).toBe(2);
      expect(new Set([...mine, ...theirs].map((d) => d.deliveryId)).size).toBe(2);
      const d = mine[0] ?? theirs[0]!;
      expect(d).toMatchObject({ attempts: 0, event: e });
      expect(['w1', 'w2']).toContain(d.webhookId);
      // Leased: nobody else gets them before the lease ends.
      expect(await ctx.store.claimWebhookDeliveries('c', later(29), later(60), 10)).toEqual([]);
      // Once a lease has passed, a delivery goes to the next claimant; the old owner's finish is ignored.
      const all = [...mine, ...theirs];
      const retaken = await ctx.store.claimWebhookDeliveries('c', later(31), later(61), 10);
      expect(retaken.map((x) => x.deliveryId).sort()).toEqual(all.map((x) => x.deliveryId).sort());
      const [x, y] = retaken;
      expect(await ctx.store.finishWebhookDelivery(x!.deliveryId, mine[0] ? 'a' : 'b', null)).toBe(false);
      expect(await ctx.store.finishWebhookDelivery(x!.deliveryId, 'c', null)).toBe(true);
      expect(await ctx.store.finishWebhookDelivery(y!.deliveryId, 'c', later(100))).toBe(true);
      expect(await ctx.store.pendingWebhookDeliveries()).toBe(1);
      expect(await ctx.store.claimWebhookDeliveries('d', later(99), later(130), 10)).toEqual([]);
      expect(await ctx.store.claimWebhookDeliveries('d', later(100), later(130), 10)).toEqual([expect.objectContaining({ deliveryId: y!.deliveryId, attempts: 1 })]);
    });

    it('a re-pointed webhook drops what it was owed; a deleted one drops it all; listing shows the stored record', async () => {
      await ctx.store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 's', updatedAt: NOW.toISOString() });
      await ctx.store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: NOW.toISOString() });
      expect(await ctx.store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 's2', updatedAt: later(1).toISOString() })).toBe('updated');
      expect(await ctx.store.pendingWebhookDeliveries()).toBe(1);
      await ctx.store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/new', secret: 's2', updatedAt: later(2).toISOString() });
      expect(await ctx.store.pendingWebhookDeliveries()).toBe(0);
      await ctx.store.appendTrustEvent({ hostId: 'h1', kind: 'untrusted', at: NOW.toISOString() });
      expect(await ctx.store.listWebhooks()).toEqual([{ id: 'w1', url: 'http://127.0.0.1/new', secret: 's2', updatedAt: later(2).toISOString() }]);
      expect(await ctx.store.deleteWebhook('w1')).toBe(true);
      expect(await ctx.store.deleteWebhook('w1')).toBe(false);
      expect(await ctx.store.pendingWebhookDeliveries()).toBe(0);
    });

    it('tells subscribers of committed trust events, key and profile changes', async () => {
      const changes: StoreChange[] = [];
      const unsubscribe = ctx.store.subscribe((c) => changes.push(c));
      await ctx.store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 's', updatedAt: NOW.toISOString() });
      const e = await ctx.store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: NOW.toISOString() });
      await ctx.store.putSigningKey({ kid: 'k', privateJwk: 'p', publicJwk: '{}', createdAt: NOW.toISOString() });
      await ctx.store.putProfile({ name: 'ref', version: '1', document: '{}', source: 'api', storedAt: NOW.toISOString() });
      await waitFor(() => changes.some((c) => c.kind === 'signing_keys') && changes.some((c) => c.kind === 'profiles'));
      expect(changes).toEqual(
        expect.arrayContaining([{ kind: 'trust_event', seq: e.seq }, { kind: 'webhook_delivery' }, { kind: 'signing_keys' }, { kind: 'profiles' }]),
      );
      unsubscribe();
    });
  });
}
