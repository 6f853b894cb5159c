/**
 * The store test suite, run unchanged against every Store backend (store.sqlite.test.ts,
 * store.postgres.test.ts): what any backend must do, including across processes sharing it.
 */
import { beforeEach, afterEach } from 'vitest';
import type { Store } from '../../../src/store/types.ts';
import { enrollHost, type SuiteContext } from './fixtures.ts';
import { recordTests } from './records.ts';
import { sharedStateTests } from './shared-state.ts';
import { fleetTests } from './fleet.ts';
import { trustFilterTests } from './trust-filter.ts';

export interface StoreUnderTest {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Another store on the database of the last open(), as a second process or replica holds it. */
  openAnother(): Promise<Store>;
  /** Where the last open() keeps its data, for a child process's store (a SQLite file or a postgres:// URL). */
  location(): string;
  /** After each test, once its stores are closed. */
  cleanup(): Promise<void>;
}

export function storeSuite(name: string, backend: StoreUnderTest): void {
  let store: Store | undefined;
  const extra: Store[] = [];
  const ctx: SuiteContext = {
    get store(): Store {
      if (!store) throw new Error('no store open');
      return store;
    },
    async another() {
      const s = await backend.openAnother();
      extra.push(s);
      return s;
    },
    location: () => backend.location(),
    enrolledHost: (hostId, ek) => enrollHost(ctx.store, hostId, ek),
  };

  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.close();
    await store?.close();
    store = undefined;
    await backend.cleanup();
  });

  recordTests(name, ctx);
  sharedStateTests(name, ctx);
  fleetTests(name, ctx);
  trustFilterTests(name, ctx);
}
