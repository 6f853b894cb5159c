/**
 * Prints one plain closing line, "tests: N passed, N failed, N skipped", after vitest's own
 * report, so that CI logs state the count in a form any reader can parse.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    // CI never skips: under BOOTGATE_TEST_REQUIRE=1 a skipped test fails the run.
    if (process.env.BOOTGATE_TEST_REQUIRE === '1' && skipped > 0) {
      process.stdout.write(`BOOTGATE_TEST_REQUIRE=1: ${skipped} skipped test(s) count as failures\n`);
      process.exitCode = 1;
    }
  }
}
