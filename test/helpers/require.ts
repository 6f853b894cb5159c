/**
 * External components some tests need (swtpm, tpm2-tools, the shared real logs, PostgreSQL,
 * Chromium, shellcheck). Absent, their tests skip with a message; under BOOTGATE_TEST_REQUIRE=1
 * (set by .ci/run) an absent component fails the test file instead, so CI can never pass by skipping.
 */
export const REQUIRE_ALL = process.env.BOOTGATE_TEST_REQUIRE === '1';

/** `present`, or false with a warning; throws under BOOTGATE_TEST_REQUIRE=1 when absent. */
export function available(component: string, present: boolean, missing: string): boolean {
  if (present) return true;
  if (REQUIRE_ALL) throw new Error(`BOOTGATE_TEST_REQUIRE=1 but ${component} is absent: ${missing}`);
  console.warn(`skipping tests that need ${component}: ${missing}`);
  return false;
}
