import { setImmediate } from 'node:timers/promises';
import type { ClearExpiredOptions } from '../../core/session-store.js';

/**
 * Runs `deleteBatch` until it deletes fewer than `batchSize` rows, reporting the running total
 * to `onProgress` after each batch, and lets other work run between batches. Each batch is its
 * own statement, so a million expired rows never hold a lock for long nor pass through memory.
 *
 * @param deleteBatch - deletes at most `batchSize` expired rows; resolves to how many it deleted
 * @returns how many rows were deleted in all
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export async function clearInBatches(
  deleteBatch: () => Promise<number> | number,
  batchSize: number,
  options: ClearExpiredOptions = {},
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const count = await deleteBatch();
    deleted += count;
    options.onProgress?.(deleted);
    if (count < batchSize) return deleted;
    // A synchronous driver (better-sqlite3) would otherwise keep the event loop until the end.
    await setImmediate();
  }
}
