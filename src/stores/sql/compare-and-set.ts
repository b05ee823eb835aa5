import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../../core/errors.js';

/** How many times {@link compareAndSet} tries before it gives up. */
export const MAX_ATTEMPTS = 50;
/** Attempts made back to back before the first pause. */
const EAGER_ATTEMPTS = 3;
/** The longest pause between two attempts, in milliseconds. */
const MAX_PAUSE_MS = 10;

/**
 * Runs an optimistic read-merge-write until it lands: `attempt` reads the latest row, merges and
 * writes it only if the row is unchanged, and resolves `true` when it wrote, `false` when another
 * write came in between. The first few retries follow at once; later ones wait a random few
 * milliseconds, so writers that keep colliding spread out.
 *
 * @param attempt - one read-merge-write; throws `UpdateError` itself when the row is gone
 * @throws StoreError when every one of {@link MAX_ATTEMPTS} attempts met another write
 * @see https://en.wikipedia.org/wiki/Compare-and-swap
 */
export async function compareAndSet(
  storeName: string,
  attempt: () => Promise<boolean>,
): Promise<void> {
  for (let tries = 1; tries <= MAX_ATTEMPTS; tries += 1) {
    if (await attempt()) return;
    if (tries >= EAGER_ATTEMPTS) {
      await sleep(Math.random() * Math.min(tries - EAGER_ATTEMPTS + 1, MAX_PAUSE_MS));
    }
  }
  throw new StoreError(
    `keepstate: ${storeName} could not update a session: other writes to it kept coming in between, ${MAX_ATTEMPTS} times in a row (contention on one session)`,
  );
}
