/**
 * `bootgate drift list` and `bootgate drift accept GROUP --note TEXT` (contract §5, §6): failing
 * hosts grouped by what changed, and accepting a group as the next version of its profile.
 */
import type { Command } from 'commander';
import { changeSummary, changeTable, table, type Change } from '../fleet-format.ts';
import { printJson, segment, serverClient, serverOptions, type ServerOptions } from '../server-api.ts';

interface GroupJson {
  groupId: string;
  profile: string | null;
  hosts: string[];
  count: number;
  changes: Change[];
  blockers: string[];
  firstSeen: string;
  lastSeen: string;
}

function hostList(hosts: string[], max = 5): string {
  return `${hosts.slice(0, max).join(', ')}${hosts.length > max ? ` (+${hosts.length - max})` : ''}`;
}

/** Errors are thrown (CliError) and reported by main(); success leaves the exit code 0. */
export function registerDrift(program: Command): void {
  const drift = program.command('drift').description('Failing hosts grouped by what changed in their boot; accepting a group');

  serverOptions(drift.command('list').description('Drift groups, largest first'))
    .option('--changes', 'list each group\'s changes event by event')
    .action(async (opts: ServerOptions & { changes?: boolean }) => {
      const { groups } = (await serverClient(opts).get('/v1/drift')) as { groups: GroupJson[] };
      if (opts.json === true) return printJson({ groups });
      if (groups.length === 0) {
        process.stdout.write('no failing hosts\n');
        return;
      }
      if (opts.changes === true) {
        for (const g of groups) {
          process.stdout.write(`group ${g.groupId}: ${g.count} host${g.count === 1 ? '' : 's'} (${hostList(g.hosts)}), profile ${g.profile ?? '-'}, since ${g.firstSeen}\n`);
          if (g.blockers.length > 0) process.stdout.write(`  cannot be accepted: ${g.blockers.join(', ')}\n`);
          process.stdout.write(`${(g.changes.length > 0 ? changeTable(g.changes, '  ') : ['  (boot unchanged since the last pass)']).join('\n')}\n\n`);
        }
        return;
      }
      const rows = [['GROUP', 'HOSTS', 'PROFILE', 'CHANGES', 'BLOCKED BY', 'LAST SEEN']];
      for (const g of groups) rows.push([g.groupId, String(g.count), g.profile ?? '-', changeSummary(g.changes), g.blockers.join(',') || '-', g.lastSeen]);
      process.stdout.write(table(rows));
    });

  serverOptions(drift.command('accept').description("Accept a group's new values as the next version of its profile (admin)").argument('<groupId>'))
    .requiredOption('--note <text>', 'why this change is legitimate (kept in the audit trail)')
    .action(async (groupId: string, opts: ServerOptions & { note: string }) => {
      const r = await serverClient(opts).post(`/v1/drift/${segment(groupId)}/accept`, { note: opts.note });
      const body = r.json as { profile: string; accepted: Change[]; hosts: string[] };
      if (opts.json === true) return printJson(body);
      const verb = r.status === 201 ? 'wrote' : 'was already accepted as';
      process.stdout.write(`drift group ${groupId} ${verb} profile ${body.profile}: ${body.accepted.length} change${body.accepted.length === 1 ? '' : 's'} now allowed beside the old values, for ${body.hosts.length} host${body.hosts.length === 1 ? '' : 's'} (${hostList(body.hosts)})\n`);
      process.stdout.write(`${changeTable(body.accepted).join('\n')}\n`);
    });
}
