// Session keys for the scale bench, the same on every store: the first 32 hex digits of
// md5("k" + i), which PostgreSQL computes itself (md5('k' || i)) so that a million rows need
// not cross the wire one by one.
import { createHash } from 'node:crypto';

export const keyOf = (i) => createHash('md5').update(`k${i}`).digest('hex').slice(0, 32);

/** `count` indexes in [0, n), spread evenly, in a shuffled order. */
export function sampleIndexes(n, count) {
  const out = Array.from({ length: count }, (_, i) => Math.floor((i * n) / count));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
