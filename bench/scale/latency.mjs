// Timing helpers for the scale bench: percentiles of a list of durations, and a sequential
// loop that times one async operation at a time.

/** p50/p99/max/mean in microseconds of durations given in nanoseconds (bigint or number). */
export function stats(ns) {
  const us = ns.map((n) => Number(n) / 1000).sort((a, b) => a - b);
  const at = (p) => us[Math.min(us.length - 1, Math.floor((p / 100) * us.length))] ?? Number.NaN;
  const mean = us.reduce((a, b) => a + b, 0) / (us.length || 1);
  return { n: us.length, p50: at(50), p99: at(99), max: us[us.length - 1] ?? Number.NaN, mean };
}

/** Runs `op(i)` `count` times, one after another, and returns each one's duration in ns. */
export async function timeEach(count, op) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await op(i);
    out[i] = process.hrtime.bigint() - t0;
  }
  return out;
}

/**
 * Runs `op()` over and over until `stop()` says so, yielding to other work before each call,
 * and returns for each call the time from the moment it was due (the end of the previous one)
 * to its end: what a request arriving then would wait, including any work (say, a batch of a
 * synchronous driver) that held the event loop meanwhile.
 */
export async function loopUntil(stop, op) {
  const out = [];
  while (!stop()) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => setImmediate(resolve));
    await op();
    out.push(process.hrtime.bigint() - t0);
  }
  return out;
}

export const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
