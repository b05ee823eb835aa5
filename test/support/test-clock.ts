import type { Clock } from '../../src/signing/clock.js';

/** A clock that stands still until a test moves it. */
export interface TestClock extends Clock {
  /** Moves the clock forward by `seconds` (may be fractional or negative). */
  advance(seconds: number): void;
  /** Sets the clock to `epochSeconds`. */
  set(epochSeconds: number): void;
}

/** A {@link TestClock} starting at `epochSeconds` (default 1700000000, the vectors' "now"). */
export function testClock(epochSeconds = 1_700_000_000): TestClock {
  let millis = epochSeconds * 1000;
  const clock = (() => new Date(millis)) as TestClock;
  clock.advance = (seconds) => {
    millis += seconds * 1000;
  };
  clock.set = (seconds) => {
    millis = seconds * 1000;
  };
  return clock;
}
