/**
 * Tests run the real CLI (bin/bootgate.mjs), which runs the compiled dist/: build it once before
 * any test file starts, so concurrent CLI runs never each find it stale.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building dist/ failed (exit ${r.status ?? r.signal})`);
}
