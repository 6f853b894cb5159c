/** TPM clock monotonicity against the host's previous appraisal (contract §3.2). */
import type { Finding } from './types.ts';

export interface ClockLike {
  clock: bigint | number;
  resetCount: number;
  restartCount: number;
}

export function checkClock(previous: ClockLike, current: ClockLike): Finding[] {
  const prevClock = BigInt(previous.clock);
  const curClock = BigInt(current.clock);
  const fields = (c: ClockLike, clock: bigint): Record<string, string | number> => ({ clock: clock.toString(), resetCount: c.resetCount, restartCount: c.restartCount });
  const expected = fields(previous, prevClock);
  const actual = fields(current, curClock);
  if (current.resetCount < previous.resetCount) {
    return [{ code: 'reset_count_rollback', message: `TPM resetCount went from ${previous.resetCount} to ${current.resetCount}`, rule: 'clock', expected, actual }];
  }
  if (current.resetCount === previous.resetCount) {
    if (current.restartCount < previous.restartCount) {
      return [{ code: 'restart_count_rollback', message: `TPM restartCount went from ${previous.restartCount} to ${current.restartCount} within resetCount ${current.resetCount}`, rule: 'clock', expected, actual }];
    }
    if (current.restartCount === previous.restartCount && curClock < prevClock) {
      return [{ code: 'clock_rollback', message: `TPM clock went back from ${prevClock} to ${curClock} within resetCount ${current.resetCount}, restartCount ${current.restartCount}`, rule: 'clock', expected, actual }];
    }
  }
  return [];
}
