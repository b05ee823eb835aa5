/**
 * A source of the current instant. Every time-dependent part of keepstate takes one, so tests
 * move time forward instead of sleeping.
 */
export type Clock = () => Date;

/** The real clock: `new Date()`. */
export const systemClock: Clock = () => new Date();
