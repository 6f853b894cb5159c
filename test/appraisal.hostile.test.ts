import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { ParseError } from '../src/util/errors.ts';
import { bootEvents, encodeEventLog, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';
import path from 'node:path';
import { repoRoot } from './helpers/fixtures.ts';

describe('hostile event logs', () => {
  const reference = loadProfileFile(path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json'));
  const clean = encodeEventLog(LOG_BANKS, bootEvents(referencePlatform()));

  it('the clean reference log passes offline', () => {
    expect(appraiseEvidence({ eventLog: clean, profiles: [reference] }).verdict).toBe('pass');
  });

  it('byte edits anywhere give a ParseError or a verdict, never another exception', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(clean.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const bytes = clean.slice();
        for (const [at, x] of edits) bytes[at] = (bytes[at] ?? 0) ^ x;
        try {
          const o = appraiseEvidence({ eventLog: bytes, profiles: [reference] });
          expect(['pass', 'fail']).toContain(o.verdict);
          for (const f of o.failures) expect(typeof f.code).toBe('string');
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
        }
      }),
      { numRuns: 1500 },
    );
  });
});
