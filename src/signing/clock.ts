/**
 * A source of the current instant. Every time-dependent part of keepstate takes one, so tests
 * move time forward instead of sleeping.
 */
export type Clock = () => Date;

/** The real clock: `new Date()`. */
export const systemClock: Clock = () => new Date();

/**
 * Milliseconds since the epoch by `clock`: `Date.now()` for the real clock, which spares the
 * `Date` that a hot path would otherwise allocate only to read its time.
 */
export function nowMs(clock: Clock): number {
  return clock === systemClock ? Date.now() : clock().getTime();
}
