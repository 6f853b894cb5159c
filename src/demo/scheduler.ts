/** What a scheduler sees (scheduler API key): host lists by trust (§3.3) and the trust-event feed. */
import { z } from 'zod';
import { expectApi } from './http.ts';

const HostListSchema = z.object({ hosts: z.array(z.looseObject({ hostId: z.string() })) });
const EventsSchema = z.object({
  events: z.array(z.looseObject({ seq: z.number(), hostId: z.string(), kind: z.string(), at: z.string() })),
  lastSeq: z.number(),
});

export type TrustEvent = z.infer<typeof EventsSchema>['events'][number];

export async function hostsWithTrust(baseUrl: string, schedulerKey: string, trust: 'trusted' | 'untrusted'): Promise<string[]> {
  const json = await expectApi(baseUrl, [200], 'GET', `/v1/hosts?trust=${trust}`, { key: schedulerKey });
  const parsed = HostListSchema.safeParse(json);
  if (!parsed.success) throw new Error(`GET /v1/hosts?trust=${trust} is not shaped as contract §3.3`);
  return parsed.data.hosts.map((h) => h.hostId).sort();
}

export interface EventsSummary {
  count: number;
  byKind: Record<string, number>;
  lastSeq: number;
  /** The newest few events, oldest first. */
  latest: TrustEvent[];
}

/** Reads the whole feed from seq 0 without waiting (timeout=0), page by page. */
export async function readTrustEvents(baseUrl: string, schedulerKey: string, latest = 4): Promise<EventsSummary> {
  const all: TrustEvent[] = [];
  let after = 0;
  for (;;) {
    const json = await expectApi(baseUrl, [200], 'GET', `/v1/events?after=${after}&timeout=0&limit=1000`, { key: schedulerKey });
    const parsed = EventsSchema.safeParse(json);
    if (!parsed.success) throw new Error('GET /v1/events is not shaped as documented in src/events/README.md');
    if (parsed.data.events.length === 0) break;
    all.push(...parsed.data.events);
    after = parsed.data.lastSeq;
  }
  const byKind: Record<string, number> = {};
  for (const e of all) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  return { count: all.length, byKind, lastSeq: after, latest: all.slice(-latest) };
}
