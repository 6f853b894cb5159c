/** The README and docs/ link only to files inside the repository, and every such file exists. */
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from './helpers/fixtures.ts';

const pages = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('documentation links', () => {
  it('covers the pages an integrator looks for', () => {
    for (const p of ['docs/api.md', 'docs/golden-profiles.md', 'docs/tokens.md', 'docs/host-protocol.md', 'docs/operations.md']) expect(pages).toContain(p);
  });

  it.each(pages)('%s links only inside the repository, to files that exist', (page) => {
    const text = readFileSync(join(repoRoot, page), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    if (page === 'README.md') expect(targets.length).toBeGreaterThan(5);
    for (const t of targets) {
      if (t.startsWith('#')) continue;
      expect(t, `${page}: ${t} leaves the repository`).not.toMatch(/^[a-z]+:/i);
      const file = resolve(dirname(join(repoRoot, page)), t.split('#')[0]!);
      expect(relative(repoRoot, file).startsWith('..'), `${page}: ${t} points outside the repository`).toBe(false);
      expect(existsSync(file), `${page}: ${t} does not exist`).toBe(true);
    }
  });
});
