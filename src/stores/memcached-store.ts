import { driverFailure } from '../core/driver-failure.js';
import { CreateError, UpdateError } from '../core/errors.js';
import type {
  DeleteUserSessionsOptions,
  SessionMerge,
  SessionRecord,
  SessionStore,
  StoreContext,
  UserSession,
} from '../core/session-store.js';
import { sessionUserId } from '../core/session-user.js';
import { StoreBinding } from '../core/store-binding.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import { nowMs } from '../signing/clock.js';
import { userSessionOf } from './indexed-session.js';
import { MemcachedLock } from './memcached-lock.js';
import {
  type MemcachedIndexField,
  MemcachedUserIndex,
  type MemcachedUserIndexClient,
} from './memcached-user-index.js';

/**
 * The memcached commands a {@link MemcachedStore} sends, typed so that a memjs `Client` fits
 * without a cast. `expires` is memcached's exptime: seconds, or a unix time past 30 days.
 *
 * @see https://github.com/memcachier/memjs
 */
export interface MemcachedClient extends MemcachedUserIndexClient {
  get(key: string): Promise<{ readonly value: Buffer | null }>;
  add(key: string, value: string, options: { expires: number }): Promise<boolean>;
  replace(key: string, value: string, options: { expires: number }): Promise<boolean>;
  delete(key: string): Promise<boolean>;
}

/** Options of a {@link MemcachedStore}. */
export interface MemcachedStoreOptions {
  /**
   * Joined to the session key with `:`, so a session is stored under
   * `keepstate.session:<session key>` by default; `''` stores the bare session key. Printable
   * ASCII without spaces, at most 200 characters (memcached keys end at 250 bytes, and the
   * longest key the store makes, a session's lock item, adds up to 46). The user indexes and the locks
   * live under the same prefix.
   */
  readonly prefix?: string;
}

// memcached reads an exptime above 30 days as a unix time.
const MAX_RELATIVE_EXPTIME = 2_592_000;

const PREFIX = /^[\x21-\x7e]{0,200}$/;

/**
 * Milliseconds an index entry is kept after it was written even when its session is missing or
 * names another user: a session is filed before it is written, so its write may be in flight.
 */
const FILING_GRACE = 60_000;

/**
 * Keeps sessions in memcached with the semantics of Django's `cache` session engine: `add`
 * creates (it fails when the key is taken), `replace` saves (it fails when the key is gone),
 * `get` loads, `delete` deletes, and memcached drops expired items by itself, so `clearExpired`
 * does nothing. The value is Django's encoded session data (`SessionBase.encode`); the expiry is
 * the record's `expiresAt` minus the manager's clock, in whole seconds (floored, as Django's
 * `get_expiry_age`), sent as a unix time when it is longer than 30 days, as memcached requires.
 * A record whose `expiresAt` has passed is not written: `save` deletes it instead.
 *
 * Django's own cache engine pickles the session dict through its cache framework (with its own
 * key prefix and version), so a Django app cannot read these sessions, nor keepstate Django's;
 * to share sessions with Django use {@link RedisStore} or a SQL store.
 *
 * Pass a memjs `Client` you created; the store never closes it. Memcached may evict any item
 * when memory runs short, which logs the user out: size it for your sessions, or put
 * a durable store behind it with {@link CachedStore}. A failure of the client rejects with a
 * {@link StoreError} whose `cause` is the memjs error, after memjs's own bounds: `timeout` and
 * `conntimeout` (seconds, 0.5 and 1 by default) and `retries` (2). Pass `logger` to memjs to
 * keep its failure messages off the console.
 *
 * memjs has no compare-and-set, so `update` takes a lock instead (see {@link MemcachedLock}):
 * `add` of `<session item>.lock`, `get`, merge, `replace`, `delete` of the lock. Concurrent
 * `update`s of one session therefore each keep their changes; a `delete` (a logout) still wins,
 * as `replace` fails once the item is gone. A plain `save` takes no lock, so it can still
 * overwrite an `update` that is in progress.
 *
 * A record with a `userId` is also filed in that user's index, one item per user,
 * `[prefix:]user:<digest of the user id>` (see {@link MemcachedUserIndex}), before the session
 * is written, so no live session is missing from it. What each operation costs:
 *
 * | operation | anonymous record | record with a `userId` |
 * | --- | --- | --- |
 * | `load`, `delete`, `exists` | 1 command | 1 command |
 * | `create`, `save` | 1 command | 5 (`add` lock, `get`, `set` the index, `delete` lock; then the session) |
 * | `update` | 4 (`add` lock, `get`, `replace`, `delete` lock) | 8 |
 * | `listSessions` | – | `get` of the index, a `get` per session, 4 to prune |
 * | `deleteUserSessions` | – | `get` of the index, `get` and `delete` per session, 4 to prune |
 *
 * The index is checked, never trusted: `listSessions` and `deleteUserSessions` load each
 * session and act only on those whose data still names the user (`_keepstate_user`, else
 * `_auth_user_id`); a session is filed before it is written, so an entry whose session is
 * missing or names another user is kept for a minute after it was written, as that write may be
 * in flight. It is as volatile as anything in memcached: should memory run short,
 * memcached may evict a user's index while sessions it lists live on (a session read often stays
 * while its index item, written only when a session of the user is, goes first), and
 * `deleteUserSessions` then misses them. Where "log out everywhere" must be certain, keep the
 * sessions in Redis or SQL, or give memcached memory enough that it never evicts.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cached-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/cache.py
 * @see https://github.com/memcached/memcached/wiki/Programming#expiration
 */
export class MemcachedStore implements SessionStore {
  readonly selfExpiring = true;
  readonly #client: MemcachedClient;
  readonly #prefix: string;
  readonly #binding = new StoreBinding('MemcachedStore');
  readonly #lock: MemcachedLock;
  readonly #index: MemcachedUserIndex;

  /** @throws ImproperlyConfigured when `prefix` is not printable ASCII of at most 200 characters */
  constructor(client: MemcachedClient, options: MemcachedStoreOptions = {}) {
    const prefix = options.prefix ?? 'keepstate.session';
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw new ImproperlyConfigured(
        `keepstate: MemcachedStore's \`prefix\` must be printable ASCII without spaces, at most 200 characters (memcached keys end at 250 bytes), got ${JSON.stringify(prefix)}`,
      );
    }
    this.#client = client;
    this.#prefix = prefix;
    this.#lock = new MemcachedLock(client);
    this.#index = new MemcachedUserIndex(client, {
      prefix,
      lock: this.#lock,
      clock: () => this.#binding.clock(),
      exptime: (expiresAt) => this.#exptime(expiresAt),
    });
  }

  /** Takes the manager's codec, clock and cookie age. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * `get`s and decodes the record. Data that does not verify loads as `{}` under the same key,
   * as in Django.
   * @throws StoreError when memcached fails
   */
  async load(sessionKey: string): Promise<SessionRecord | null> {
    this.#binding.ensureAttached();
    const { value } = await this.#run('get', () => this.#client.get(this.#key(sessionKey)));
    // memcached expires by its own clock; an instant in the data is checked against ours too.
    return value === null ? null : this.#binding.recordOf(sessionKey, value.toString('utf8'));
  }

  /**
   * `add`, after filing the session in its user's index when it has one.
   * @throws CreateError when a record has the key
   * @throws StoreError when memcached fails
   */
  async create(record: SessionRecord): Promise<string> {
    const key = this.#key(record.sessionKey);
    const value = this.#binding.codec.encode(record.data);
    const expires = this.#exptime(record.expiresAt);
    if (expires !== null) await this.#file(record.sessionKey, record);
    const added =
      expires === null
        ? // Nothing to write; only say whether the key was taken.
          (await this.#run('get', () => this.#client.get(key))).value === null
        : await this.#run('add', () => this.#client.add(key, value, { expires }));
    if (!added) throw new CreateError('The session key is taken');
    return record.sessionKey;
  }

  /**
   * `replace`, after filing the session in its user's index when it has one; `delete` when
   * `expiresAt` has passed.
   * @throws UpdateError when no record has the key
   * @throws StoreError when memcached fails
   */
  async save(record: SessionRecord): Promise<string> {
    const key = this.#key(record.sessionKey);
    const value = this.#binding.codec.encode(record.data);
    const expires = this.#exptime(record.expiresAt);
    if (expires !== null) await this.#file(record.sessionKey, record);
    const written =
      expires === null
        ? await this.#run('delete', () => this.#client.delete(key))
        : await this.#run('replace', () => this.#client.replace(key, value, { expires }));
    if (!written) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
  }

  /**
   * Merges into the latest stored data holding the session's lock: `add` of the lock item,
   * `get` and decode, `merge` (called once), file the result in its user's index when it has a
   * `userId`, `replace` (or `delete` when its `expiresAt` has passed), `delete` of the lock,
   * which is given back however the rest ended.
   *
   * @throws UpdateError when no live record has the key, or it was deleted meanwhile
   * @throws StoreError when memcached fails, or the lock stayed taken for 3 seconds
   */
  async update(sessionKey: string, merge: SessionMerge): Promise<string> {
    this.#binding.ensureAttached();
    const key = this.#key(sessionKey);
    return this.#lock.hold(key, async (held) => {
      const { value } = await this.#run('get', () => this.#client.get(key));
      const latest =
        value === null ? null : this.#binding.recordOf(sessionKey, value.toString('utf8'));
      if (latest === null) throw new UpdateError('The session no longer exists');
      const record = merge(latest.data);
      const expires = this.#exptime(record.expiresAt);
      let written: boolean;
      if (expires === null) {
        held.check();
        written = await this.#run('delete', () => this.#client.delete(key));
      } else {
        const encoded = this.#binding.codec.encode(record.data);
        await this.#file(sessionKey, record);
        held.check();
        written = await this.#run('replace', () => this.#client.replace(key, encoded, { expires }));
      }
      if (!written) throw new UpdateError('The session no longer exists');
      return sessionKey;
    });
  }

  /**
   * The live sessions filed under `userId`: `get` of the user's index, then a `get` of each
   * session still within its `expiresAt`, kept only if its data still names the user. Entries
   * of sessions gone, expired or now someone else's are pruned from the index, once a minute has
   * passed since they were written (the session's write may be in flight).
   *
   * @throws StoreError when memcached fails
   */
  async listSessions(userId: string): Promise<UserSession[]> {
    this.#binding.ensureAttached();
    const fields = await this.#index.read(userId);
    const now = nowMs(this.#binding.clock);
    const live: UserSession[] = [];
    const stale: MemcachedIndexField[] = [];
    await Promise.all(
      fields.map(async (field) => {
        const { sessionKey, entry } = field;
        if (entry.expiresAt <= now) {
          stale.push(field);
          return;
        }
        if ((await this.#owner(sessionKey)) !== userId) {
          if (settled(field, now)) stale.push(field);
          return;
        }
        live.push(userSessionOf(sessionKey, entry));
      }),
    );
    await this.#index.prune(userId, stale);
    return live;
  }

  /**
   * Deletes every session filed under `userId` but `options.except`: `get` of the user's index,
   * then for each session a `get` and, if its data still names the user, a `delete`. The entries
   * of the sessions deleted, and of those gone or someone else's for more than a minute, are then
   * pruned from the index. No session lock is taken, so a session filed under another user
   * between its `get` and its `delete` would still be deleted; `login` gives a session whose user
   * changes a new session key (as Django's does), so its sessions never change hands.
   *
   * @returns how many sessions were deleted
   * @throws StoreError when memcached fails
   */
  async deleteUserSessions(
    userId: string,
    options: DeleteUserSessionsOptions = {},
  ): Promise<number> {
    this.#binding.ensureAttached();
    const fields = (await this.#index.read(userId)).filter(
      (field) => field.sessionKey !== options.except,
    );
    const deleted = await Promise.all(
      fields.map(async ({ sessionKey }) => {
        if ((await this.#owner(sessionKey)) !== userId) return false;
        return this.#run('delete', () => this.#client.delete(this.#key(sessionKey)));
      }),
    );
    const now = nowMs(this.#binding.clock);
    const stale = fields.filter((field, i) => deleted[i] === true || settled(field, now));
    await this.#index.prune(userId, stale);
    return deleted.filter(Boolean).length;
  }

  /** `delete`. @throws StoreError when memcached fails */
  async delete(sessionKey: string): Promise<void> {
    await this.#run('delete', () => this.#client.delete(this.#key(sessionKey)));
  }

  /** `get`, as memcached has no cheaper test. @throws StoreError when memcached fails */
  async exists(sessionKey: string): Promise<boolean> {
    const { value } = await this.#run('get', () => this.#client.get(this.#key(sessionKey)));
    return value !== null;
  }

  /** Does nothing: memcached drops expired items itself. @returns 0 */
  async clearExpired(): Promise<number> {
    return 0;
  }

  #key(sessionKey: string): string {
    return this.#prefix === '' ? sessionKey : `${this.#prefix}:${sessionKey}`;
  }

  /** Files the session in its user's index, when the record has a user. */
  async #file(sessionKey: string, record: SessionRecord): Promise<void> {
    const { userId, userAgent, expiresAt } = record;
    if (userId === undefined) return;
    const now = this.#binding.clock();
    await this.#index.file(userId, sessionKey, {
      now,
      expiresAt,
      ...(userAgent !== undefined && { userAgent }),
    });
  }

  /** The user a session's data names; `undefined` when none, or the session is gone. */
  async #owner(sessionKey: string): Promise<string | undefined> {
    const { value } = await this.#run('get', () => this.#client.get(this.#key(sessionKey)));
    const record =
      value === null ? null : this.#binding.recordOf(sessionKey, value.toString('utf8'));
    return record === null ? undefined : sessionUserId(record.data);
  }

  /**
   * memcached's exptime for `expiresAt`, or `null` when it has passed. 0 would mean "never", so
   * an instant less than a second away counts as passed.
   */
  #exptime(expiresAt: Date): number | null {
    const seconds = Math.floor((expiresAt.getTime() - nowMs(this.#binding.clock)) / 1000);
    if (!(seconds > 0)) return null;
    if (seconds <= MAX_RELATIVE_EXPTIME) return seconds;
    // An absolute exptime is read against the server's clock, which is the real one, not the
    // manager's (a test clock, say).
    return Math.floor(Date.now() / 1000) + seconds;
  }

  async #run<T>(command: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw driverFailure('MemcachedStore', `run ${command}`, error);
    }
  }
}

/**
 * Whether an entry may be pruned though its session is missing or names another user: it is
 * expired, or older than the grace given to a write in flight.
 */
function settled(field: MemcachedIndexField, now: number): boolean {
  const { entry } = field;
  return entry.expiresAt <= now || now - entry.lastActivity >= FILING_GRACE;
}
