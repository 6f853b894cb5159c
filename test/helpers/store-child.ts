/**
 * Child process for the store tests: opens the store at argv[2] (a SQLite file, or a postgres://
 * URL) and runs one job, printing a line per acknowledged write so the parent knows what the
 * store promised.
 *   consume <nonceHash> <hostId>   consume once, print the outcome
 *   write <hostId>                 record appraisals forever, printing "ack <appraisalId>" after each
 */
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { parseDatabaseUrl } from '../../src/config.ts';
import type { Store } from '../../src/store/types.ts';

const [location, job, a, b] = process.argv.slice(2);
if (!location || !job) throw new Error('usage: store-child <db file | postgres url> <job> ...');
const store: Store = /^postgres(ql)?:/.test(location) ? await openPostgresStore(parseDatabaseUrl(location)) : openSqliteStore(location);

if (job === 'consume' && a && b) {
  // Wait for the parent's go signal so the children race for real.
  process.stdin.once('data', () => {
    void store.consumeNonce(a, b, new Date()).then(({ outcome }) => {
      process.stdout.write(`${outcome}\n`);
      void store.close().then(() => process.exit(0));
    });
  });
  process.stdout.write('ready\n');
} else if (job === 'write' && a) {
  let i = 0;
  for (;;) {
    const appraisalId = `child-${process.pid}-${i++}`;
    await store.recordAppraisal({
      appraisalId,
      hostId: a,
      verdict: 'pass',
      profile: 'p@1',
      failures: [],
      pcrs: {},
      evidence: { quote: 'q', signature: 's', eventLog: 'e', nonce: 'n' },
      clock: { clock: String(i), resetCount: 1, restartCount: 0 },
      timings: {},
      appraisedAt: new Date().toISOString(),
    });
    process.stdout.write(`ack ${appraisalId}\n`);
  }
} else {
  throw new Error(`unknown job ${job}`);
}
