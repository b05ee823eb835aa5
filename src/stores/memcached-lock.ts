import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { driverFailure } from '../core/driver-failure.js';
import { StoreError } from '../core/errors.js';

/** The memcached commands a {@link MemcachedLock} sends; a memjs `Client` fits. */
export interface MemcachedLockClient {
  add(key: string, value: string, options: { expires: number }): Promise<boolean>;
  delete(key: string): Promise<boolean>;
}

/** What a task run under a {@link MemcachedLock} can ask of it. */
export interface HeldLock {
  /**
   * Call right before each write: throws when the lock has been held so long that memcached may
   * have expired it, so the write could race another holder.
   * @throws StoreError when the lock can no longer be trusted
   */
  check(): void;
}

/** Seconds a lock lives when its holder never deletes it (a process that died holding it). */
const LOCK_SECONDS = 5;
// memcached's clock ticks in whole seconds, so an item given 5 s may be gone after just over 4:
// a holder stops trusting its lock well before that.
const HOLD_LIMIT_MS = 3_000;
/** How long to wait for a lock held by someone else, in milliseconds. */
const WAIT_LIMIT_MS = 3_000;
const MAX_PAUSE_MS = 20;

/**
 * A mutual-exclusion lock over memcached, for a client with no compare-and-set (memjs 1.3):
 * `add` of `<key>.lock` takes it, as `add` is atomic and fails while the item exists, and
 * `delete` gives it back. A lock lives 5 seconds, so one left by a process that died frees
 * itself; a waiter retries `add` with short, growing, random pauses for up to 3 seconds of real
 * time (not the manager's clock, which a test may hold still), then gives up with
 * {@link StoreError}.
 *
 * Only tasks that take the same lock are kept apart: writers that do not take it (a plain
 * `replace` or `delete`) are not. A holder slower than 3 seconds no longer trusts its lock
 * ({@link HeldLock.check}) and does not delete it, since it may be someone else's by then.
 *
 * @see https://github.com/memcached/memcached/wiki/Commands#add
 */
export class MemcachedLock {
  readonly #client: MemcachedLockClient;

  constructor(client: MemcachedLockClient) {
    this.#client = client;
  }

  /**
   * Runs `task` holding the lock of `key` (the item `<key>.lock`), and gives the lock back when
   * the task ends, whether it resolved or threw.
   *
   * @throws StoreError when memcached fails, or the lock stayed taken for 3 seconds
   */
  async hold<T>(key: string, task: (held: HeldLock) => Promise<T>): Promise<T> {
    const lockKey = `${key}.lock`;
    const acquiredAt = await this.#acquire(lockKey);
    const held: HeldLock = {
      check() {
        if (performance.now() - acquiredAt > HOLD_LIMIT_MS) {
          throw new StoreError(
            `keepstate: MemcachedStore held a lock for more than ${HOLD_LIMIT_MS} ms, so memcached may have expired it; nothing was written`,
          );
        }
      },
    };
    try {
      return await task(held);
    } finally {
      if (performance.now() - acquiredAt <= HOLD_LIMIT_MS) {
        // A lock that cannot be deleted expires by itself; the task's own outcome matters more.
        await this.#client.delete(lockKey).catch(() => false);
      }
    }
  }

  /** Takes the lock; resolves with the `performance.now()` it was taken at. */
  async #acquire(lockKey: string): Promise<number> {
    const start = performance.now();
    for (let attempt = 0; ; attempt++) {
      let added: boolean;
      try {
        added = await this.#client.add(lockKey, '1', { expires: LOCK_SECONDS });
      } catch (error) {
        throw driverFailure('MemcachedStore', 'run add', error);
      }
      if (added) return performance.now();
      if (performance.now() - start > WAIT_LIMIT_MS) {
        throw new StoreError(
          `keepstate: MemcachedStore could not take a lock within ${WAIT_LIMIT_MS} ms (too many concurrent writes, or a process died holding it; it frees itself within ${LOCK_SECONDS} s)`,
        );
      }
      await delay(Math.min(2 ** attempt, MAX_PAUSE_MS) * (0.5 + Math.random()));
    }
  }
}
