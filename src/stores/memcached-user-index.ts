import { createHash } from 'node:crypto';
import { driverFailure } from '../core/driver-failure.js';
import { nowMs } from '../signing/clock.js';
import { type IndexedSession, indexedSessionOf } from './indexed-session.js';
import type { MemcachedLock, MemcachedLockClient } from './memcached-lock.js';

/** The memcached commands a {@link MemcachedUserIndex} sends; a memjs `Client` fits. */
export interface MemcachedUserIndexClient extends MemcachedLockClient {
  get(key: string): Promise<{ readonly value: Buffer | null }>;
  set(key: string, value: string, options: { expires: number }): Promise<boolean>;
}

/** One session of a user's index, as {@link MemcachedUserIndex.read} found it. */
export interface MemcachedIndexField {
  readonly sessionKey: string;
  readonly entry: IndexedSession;
}

/** How the index is told the time and memcached's exptime, both the store's. */
export interface MemcachedUserIndexOptions {
  /** The store's prefix, `''` for none. */
  readonly prefix: string;
  readonly lock: MemcachedLock;
  /** The manager's clock. */
  readonly clock: () => Date;
  /** memcached's exptime for an instant, or `null` when it has passed (less than a second left). */
  readonly exptime: (expiresAt: Date) => number | null;
}

type Entries = Record<string, IndexedSession>;

/**
 * The sessions of each user, for {@link MemcachedStore}'s `listSessions` and
 * `deleteUserSessions`: one item per user, `[prefix:]user:<digest>`, where the digest is the
 * first 32 characters of the base64url SHA-256 of the user id (a user id may be longer than a
 * memcached key, or hold spaces). The item is a JSON object from session key to
 * `{"createdAt":…,"lastActivity":…,"expiresAt":…,"userAgent":"…"}`, instants in epoch
 * milliseconds, and expires with its longest-lived session.
 *
 * Every change reads, edits and `set`s the whole item under a {@link MemcachedLock} of its own
 * (`<item>.lock`), dropping entries past their `expiresAt` on the way. The index only says which
 * sessions *may* belong to a user: the store checks each session before it lists or deletes it.
 */
export class MemcachedUserIndex {
  readonly #client: MemcachedUserIndexClient;
  readonly #options: MemcachedUserIndexOptions;

  constructor(client: MemcachedUserIndexClient, options: MemcachedUserIndexOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** The item that holds `userId`'s sessions. */
  key(userId: string): string {
    const digest = createHash('sha256').update(userId).digest('base64url').slice(0, 32);
    const { prefix } = this.#options;
    return prefix === '' ? `user:${digest}` : `${prefix}:user:${digest}`;
  }

  /**
   * Files `sessionKey` under `userId`, keeping the `createdAt` of an entry already there; under
   * the index's lock: `add` the lock, `get`, `set` (or `delete` when nothing is left), `delete`
   * the lock.
   *
   * @param session.now - the manager's now: `lastActivity`, and `createdAt` if new
   * @throws StoreError when memcached fails or the lock stays taken
   */
  async file(
    userId: string,
    sessionKey: string,
    session: { readonly now: Date; readonly expiresAt: Date; readonly userAgent?: string },
  ): Promise<void> {
    await this.#edit(userId, (entries) => {
      const now = session.now.getTime();
      entries[sessionKey] = {
        createdAt: entries[sessionKey]?.createdAt ?? now,
        lastActivity: now,
        expiresAt: session.expiresAt.getTime(),
        ...(session.userAgent !== undefined && { userAgent: session.userAgent }),
      };
    });
  }

  /** Every session filed under `userId`, with one `get`; `[]` when there is none. */
  async read(userId: string): Promise<MemcachedIndexField[]> {
    const { value } = await this.#run('get', () => this.#client.get(this.key(userId)));
    return Object.entries(parseEntries(value)).map(([sessionKey, entry]) => ({
      sessionKey,
      entry,
    }));
  }

  /**
   * Removes `fields` from `userId`'s index, each only if it is still as read, under the index's
   * lock; nothing is sent when `fields` is empty.
   * @throws StoreError when memcached fails or the lock stays taken
   */
  async prune(userId: string, fields: readonly MemcachedIndexField[]): Promise<void> {
    if (fields.length === 0) return;
    await this.#edit(userId, (entries) => {
      for (const { sessionKey, entry } of fields) {
        const current = entries[sessionKey];
        if (current !== undefined && JSON.stringify(current) === JSON.stringify(entry)) {
          delete entries[sessionKey];
        }
      }
    });
  }

  /** Reads, changes and writes back the user's item, holding its lock. */
  async #edit(userId: string, change: (entries: Entries) => void): Promise<void> {
    const key = this.key(userId);
    await this.#options.lock.hold(key, async (held) => {
      const { value } = await this.#run('get', () => this.#client.get(key));
      const entries = parseEntries(value);
      change(entries);
      const now = nowMs(this.#options.clock);
      let last = 0;
      for (const [sessionKey, entry] of Object.entries(entries)) {
        if (entry.expiresAt <= now) delete entries[sessionKey];
        else last = Math.max(last, entry.expiresAt);
      }
      const expires = this.#options.exptime(new Date(last));
      held.check();
      if (expires === null) {
        await this.#run('delete', () => this.#client.delete(key));
      } else {
        const text = JSON.stringify(entries);
        await this.#run('set', () => this.#client.set(key, text, { expires }));
      }
    });
  }

  async #run<T>(command: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw driverFailure('MemcachedStore', `run ${command}`, error);
    }
  }
}

/** The entries an item holds; unreadable text or entries count as none. */
function parseEntries(value: Buffer | null): Entries {
  if (value === null) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return {};
  }
  const entries: Entries = Object.create(null);
  if (typeof parsed !== 'object' || parsed === null) return entries;
  for (const [sessionKey, raw] of Object.entries(parsed)) {
    const entry = indexedSessionOf(raw);
    if (entry !== null) entries[sessionKey] = entry;
  }
  return entries;
}
