#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by tsc: `npm run build`, which `npm ci` runs through `prepare`).
// A checkout whose sources changed since that build is rebuilt first, so it never runs old code.
import { ensureBuilt } from '../scripts/build.mjs';

if (ensureBuilt()) {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(process.argv);
} else {
  process.exitCode = 2;
}
