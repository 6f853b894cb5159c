/**
 * `bootgate hosts list [--trust STATE] [--limit N]`, `bootgate hosts show ID`, `bootgate hosts changes ID`:
 * the fleet as a running service sees it (contract §3.3, §5, §6).
 */
import type { Command } from 'commander';
import { changeTable, table, type Change } from '../fleet-format.ts';
import { CliError } from '../output.ts';
import { printJson, segment, serverClient, serverOptions, type ServerOptions } from '../server-api.ts';

const TRUST_STATES = ['trusted', 'untrusted', 'unknown', 'expired'];

interface Failure {
  code: string;
  message: string;
}
interface HostJson {
  hostId: string;
  enrolledAt: string;
  akName: string;
  profiles: string[];
  revokedAt?: string;
  trust: { status: string; appraisalId: string | null; appraisedAt: string | null; expiresAt: string | null; profile: string | null; failures: Failure[] };
}
interface AppraisalJson {
  appraisalId: string;
  appraisedAt: string;
  verdict: string;
  profile: string | null;
  failures: Failure[];
  rejected?: boolean;
}

const codesOf = (failures: Failure[]): string => [...new Set(failures.map((f) => f.code))].join(',');

function positive(v: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new CliError('invalid_limit', '--limit is a whole number of hosts, at least 1');
  return Number(v);
}

/** Errors are thrown (CliError) and reported by main(); success leaves the exit code 0. */
export function registerHosts(program: Command): void {
  const hosts = program.command('hosts').description('Hosts of a running service: trust, history and what changed in their boot');

  serverOptions(hosts.command('list').description('List hosts (all pages), optionally in one trust state'))
    .option('--trust <state>', `only hosts in this state (${TRUST_STATES.join(', ')})`)
    .option('--limit <n>', 'at most this many hosts')
    .action(async (opts: ServerOptions & { trust?: string; limit?: string }) => {
      if (opts.trust !== undefined && !TRUST_STATES.includes(opts.trust)) {
        throw new CliError('invalid_trust', `--trust is one of ${TRUST_STATES.join(', ')}`);
      }
      const max = opts.limit === undefined ? Infinity : positive(opts.limit);
      const client = serverClient(opts);
      const list: HostJson[] = [];
      let next: string | null = null;
      do {
        const q = new URLSearchParams({ limit: String(Math.min(1000, max - list.length)) });
        if (opts.trust !== undefined) q.set('trust', opts.trust);
        if (next !== null) q.set('after', next);
        const page = (await client.get(`/v1/hosts?${q}`)) as { hosts: HostJson[]; next: string | null };
        list.push(...page.hosts);
        next = page.next;
      } while (next !== null && list.length < max);
      if (opts.json === true) return printJson({ hosts: list, next });
      const rows = [['HOST', 'TRUST', 'PROFILE', 'APPRAISED', 'EXPIRES', 'FAILURES']];
      for (const h of list) rows.push([h.hostId, h.trust.status, h.trust.profile ?? '-', h.trust.appraisedAt ?? '-', h.trust.expiresAt ?? '-', codesOf(h.trust.failures)]);
      process.stdout.write(table(rows));
      process.stdout.write(`${list.length} host${list.length === 1 ? '' : 's'}${next !== null ? ' (more with a higher --limit)' : ''}\n`);
    });

  serverOptions(hosts.command('show').description("A host's trust, failures and recent appraisals").argument('<hostId>'))
    .action(async (hostId: string, opts: ServerOptions) => {
      const client = serverClient(opts);
      const h = (await client.get(`/v1/hosts/${segment(hostId)}`)) as HostJson;
      if (opts.json === true) return printJson(h);
      const history = (await client.get(`/v1/hosts/${segment(hostId)}/appraisals?limit=10`)) as { appraisals: AppraisalJson[] };
      const lines = [
        `host      ${h.hostId}`,
        `trust     ${h.trust.status}${h.trust.expiresAt !== null ? ` until ${h.trust.expiresAt}` : ''}`,
        `profile   ${h.trust.profile ?? '-'} (assigned: ${h.profiles.join(', ') || 'none'})`,
        `appraisal ${h.trust.appraisalId ?? '-'} at ${h.trust.appraisedAt ?? '-'}`,
        `enrolled  ${h.enrolledAt}, AK ${h.akName}`,
        ...(h.revokedAt !== undefined ? [`revoked   ${h.revokedAt}`] : []),
      ];
      if (h.trust.failures.length > 0) lines.push('', 'failures', ...h.trust.failures.map((f) => `  ${f.code}: ${f.message}`));
      process.stdout.write(`${lines.join('\n')}\n\nrecent appraisals\n`);
      const rows = [['APPRAISED', 'VERDICT', 'PROFILE', 'FAILURES', 'APPRAISAL']];
      for (const a of history.appraisals) rows.push([a.appraisedAt, a.rejected === true ? `${a.verdict} (not signed by the host)` : a.verdict, a.profile ?? '-', codesOf(a.failures), a.appraisalId]);
      process.stdout.write(table(rows));
    });

  serverOptions(hosts.command('changes').description("What changed in a host's boot since its last passing appraisal").argument('<hostId>'))
    .action(async (hostId: string, opts: ServerOptions) => {
      const c = (await serverClient(opts).get(`/v1/hosts/${segment(hostId)}/changes`)) as {
        hostId: string; from: string | null; to: string; profile: string | null; bank: string; groupId?: string; changes: Change[]; note?: string;
      };
      if (opts.json === true) return printJson(c);
      const from = c.from === null ? 'no passing boot' : c.from === c.to ? 'its latest appraisal (it passes)' : `last pass ${c.from}`;
      const lines = [`host ${c.hostId}: from ${from} to ${c.to}, profile ${c.profile ?? '-'}, ${c.bank} digests${c.groupId !== undefined ? `, drift group ${c.groupId}` : ''}`];
      if (c.note !== undefined) lines.push(c.note);
      else if (c.changes.length === 0) lines.push(c.from === c.to ? 'nothing changed' : 'the boot is the same: something else failed (see bootgate hosts show)');
      else lines.push(...changeTable(c.changes));
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
