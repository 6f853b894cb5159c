/**
 * fdatasync of a database's WAL file in libuv's thread pool: what synchronous=FULL does inside
 * every COMMIT, moved off the event loop (see group-commit.ts).
 *
 * fsync flushes the file, not the descriptor, so a read-only descriptor of our own is enough.
 * SQLite keeps the -wal file (same inode) while any connection is open, and only the last
 * connection to close deletes it; ours stays open until close(), which syncs first.
 */
import { close, fdatasync, open } from 'node:fs';
import { promisify } from 'node:util';

const openAsync = promisify(open);
const fdatasyncAsync = promisify(fdatasync);
const closeAsync = promisify(close);

export class WalSync {
  private fd: Promise<number> | undefined;

  constructor(private readonly walPath: string) {}

  /** Makes every byte written to the WAL so far durable. */
  readonly sync = async (): Promise<void> => {
    // Opened on first use: SQLite creates the file with the first write transaction.
    this.fd ??= openAsync(this.walPath, 'r');
    try {
      await fdatasyncAsync(await this.fd);
    } catch (err) {
      this.fd = undefined;
      throw err;
    }
  };

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd) await closeAsync(await fd).catch(() => undefined);
  }
}
