import { lstat, open, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

// A lock older than this was left by a process that died holding it (or one stalled for longer
// than any read-merge-write should take): it is broken.
const STALE_MS = 3_000;
// Longer than STALE_MS, so a dead holder's lock is always broken before a waiter gives up, and
// shorter than the manager's default `storeTimeout` (5 s), so the waiter's own error is the one
// reported.
const WAIT_MS = 4_000;
const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 20;

/**
 * A lock file beside the file it guards, taken by creating it exclusively (`open(path, 'wx')`),
 * which is atomic on every local file system and on NFS v3 and later. It works between processes
 * and between machines sharing the folder, but only among keepstate processes: Django's file
 * engine takes no lock.
 *
 * A waiter retries with a growing delay (1 to 20 ms) for at most 4 seconds, then fails with an
 * error whose `code` is `ELOCKED`. A lock file whose mtime is more than 3 seconds old (by this
 * machine's clock: keep the clocks of machines sharing a folder in sync) is taken to be left by
 * a process that died holding it, and is deleted.
 *
 * Two limits, accepted as in other lock-file libraries: two waiters that find the same stale lock
 * at the same instant can, in a window of two system calls, both believe they hold the lock; and a
 * holder stalled past 3 seconds loses its lock while it still works. Either way the worst outcome
 * is the last write winning, which is what the store did without a lock. Releasing checks that the
 * lock file is still the one taken (its inode), so a holder whose lock was broken never deletes the
 * next holder's.
 */
export class FileLock {
  /** The lock file's path. */
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /**
   * Runs `critical` while holding the lock, and releases it however `critical` ends.
   *
   * @throws Error with `code` `ELOCKED` when the lock could not be taken within 4 seconds
   * @throws the file system's error when the lock file cannot be created for another reason
   */
  async run<T>(critical: () => Promise<T>): Promise<T> {
    const ino = await this.#acquire();
    try {
      return await critical();
    } finally {
      await this.#release(ino);
    }
  }

  /**
   * Deletes the lock file at `path` if it is stale (older than 3 seconds), for sweeps of locks
   * left by processes that died.
   *
   * @returns whether the lock file is gone now
   * @throws the file system's error, other than a missing file
   */
  static async removeIfStale(path: string): Promise<boolean> {
    let stats: { ino: bigint; mtimeMs: bigint };
    try {
      stats = await lstat(path, { bigint: true });
    } catch (error) {
      if (code(error) === 'ENOENT') return true;
      throw error;
    }
    if (Date.now() - Number(stats.mtimeMs) <= STALE_MS) return false;
    try {
      // Checked again right before the unlink: another waiter may have broken it and taken a
      // fresh lock under the same name since the first look.
      if ((await lstat(path, { bigint: true })).ino !== stats.ino) return false;
      await unlink(path);
    } catch (error) {
      if (code(error) !== 'ENOENT') throw error;
    }
    return true;
  }

  async #acquire(): Promise<bigint> {
    const deadline = Date.now() + WAIT_MS;
    let delay = FIRST_DELAY_MS;
    for (;;) {
      try {
        const handle = await open(this.path, 'wx', 0o600);
        try {
          return (await handle.stat({ bigint: true })).ino;
        } catch (error) {
          await unlink(this.path).catch(() => {});
          throw error;
        } finally {
          await handle.close();
        }
      } catch (error) {
        if (code(error) !== 'EEXIST') throw error;
      }
      if (await FileLock.removeIfStale(this.path)) continue;
      if (Date.now() >= deadline) {
        throw Object.assign(new Error('timed out waiting for a lock file'), { code: 'ELOCKED' });
      }
      // Jitter, so waiters that collided do not retry in step.
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }

  async #release(ino: bigint): Promise<void> {
    try {
      if ((await lstat(this.path, { bigint: true })).ino === ino) await unlink(this.path);
    } catch {
      // Left behind, it is broken as stale after 3 seconds: no reason to fail the write it guarded.
    }
  }
}

function code(error: unknown): string | undefined {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === 'string' ? value : undefined;
}
