import { setTimeout as delay } from 'node:timers/promises';
import { driverFailure } from '../core/driver-failure.js';
import { CreateError, StoreError, UpdateError } from '../core/errors.js';
import type {
  DeleteUserSessionsOptions,
  LoadedVersion,
  SessionData,
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
import { RedisScript } from './redis-script.js';
import {
  type RedisIndexField,
  RedisUserIndex,
  type RedisUserIndexClient,
} from './redis-user-index.js';

/**
 * The Redis commands a {@link RedisStore} sends, typed so that an ioredis `Redis` (standalone or
 * through Sentinel) and an ioredis `Cluster` both fit without a cast. Every command names one key,
 * so each is a single-slot operation on a cluster; `EVAL`/`EVALSHA` run the store's Lua scripts.
 *
 * @see https://github.com/redis/ioredis
 */
export interface RedisClient extends RedisUserIndexClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<'OK' | null>;
  set(key: string, value: string, px: 'PX', milliseconds: number, xx: 'XX'): Promise<'OK' | null>;
  exists(key: string): Promise<number>;
  del(key: string): Promise<number>;
}

/** Options of a {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * django-redis-sessions' `SESSION_REDIS['prefix']`: a non-empty prefix is joined to the
   * session key with `:` (`session` stores `session:<session key>`); `''`, the default, stores
   * the bare session key, as django-redis-sessions does by default. Set the same prefix as the
   * Django app to share its sessions; set one anyway when the database holds other keys.
   */
  readonly prefix?: string;
}

/** How many times `update` reads and tries to write before giving up on a busy session. */
const UPDATE_ATTEMPTS = 50;
/** Attempts made at once, before a random pause spreads the writers of one session apart. */
const EAGER_ATTEMPTS = 3;
/**
 * Milliseconds an index entry is kept after it was written even when its session is missing or
 * names another user: a session is filed before it is written, so its write may be in flight.
 */
const FILING_GRACE = 60_000;

// Compare-and-set of one session: writes ARGV[2] with a TTL of ARGV[3] ms (or deletes the key
// when that is 0) only if the key still holds ARGV[1]. 1: written; 0: changed meanwhile;
// -1: gone. WATCH/MULTI would need a connection of its own and keys in one cluster slot.
const COMPARE_AND_SET = new RedisScript(`
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if current ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`);

/**
 * Keeps sessions in Redis with django-redis-sessions' layout, so a Django app that uses
 * `SESSION_ENGINE = 'redis_sessions.session'` with the same secret and prefix shares them: each
 * session is one string key, `[prefix:]<session key>`, holding Django's encoded session data
 * (`SessionBase.encode`), with a TTL. Redis drops expired sessions by itself, so `clearExpired`
 * does nothing.
 *
 * Pass an ioredis `Redis` or `Cluster` you created; the store never closes it. Every command
 * names one key, so a Redis Cluster works as a standalone server does, and so does Sentinel
 * (`new Redis({ sentinels, name })`). The TTL is the record's `expiresAt` minus the manager's
 * clock, in milliseconds, sent in the same command as the value: `SET … PX ttl NX` creates,
 * `SET … PX ttl XX` saves, so both are atomic. A record whose `expiresAt` has passed is not
 * written (Redis refuses a TTL that is not positive): `save` deletes it instead.
 *
 * A failure of the client (connection refused, timeout, cluster down) rejects with a
 * {@link StoreError} whose `cause` is the ioredis error. How long that takes is the client's
 * business; ioredis's defaults retry for a long time (a `Cluster` that cannot reach any node
 * queues commands until it can), so bound it:
 *
 * ```ts
 * const redis = new Redis(url, {
 *   connectTimeout: 2_000, // ms to open the connection
 *   commandTimeout: 1_000, // ms for any reply, queued commands included
 *   maxRetriesPerRequest: 1, // give up a command after one reconnection attempt
 * });
 * const cluster = new Cluster(nodes, {
 *   enableOfflineQueue: false, // fail at once while no node is reachable; await 'ready' first
 *   redisOptions: { connectTimeout: 2_000, commandTimeout: 1_000, maxRetriesPerRequest: 1 },
 * });
 * ```
 *
 * `enableOfflineQueue: false` on a `Redis` also fails commands at once while it reconnects,
 * instead of after `commandTimeout`; then wait for its `ready` event before serving requests.
 * An ioredis `keyPrefix` is applied by the client in front of this store's key.
 *
 * The `expiresAt` of a loaded record is Django's `get_expiry_date()`: the instant stored in
 * `_session_expiry`, or now plus its seconds or the cookie age. Redis keeps the real deadline.
 *
 * `update` is a compare-and-set: `GET`, merge, then a Lua script (`EVALSHA`) that writes the new
 * value only if the key still holds the one read, else reads and merges again (up to 50
 * attempts, then {@link StoreError}). It names one key, so it works on a Cluster and on a
 * shared, auto-pipelined connection, where `WATCH` would not.
 *
 * A record with a `userId` is also filed in that user's index, one hash per user,
 * `[prefix:]keepstate:user:<user id>` (see {@link RedisUserIndex}), before the session is
 * written, so no live session is missing from it. What each operation costs:
 *
 * | operation | anonymous record | record with a `userId` |
 * | --- | --- | --- |
 * | `load`, `delete`, `exists` | 1 command | 1 command |
 * | `create`, `save` | 1 command | 2 (`EVALSHA` on the index, then `SET`) |
 * | `update` | 2 per attempt (`GET`, `EVALSHA`) | 3, and 2 per retry with the same user |
 * | `listSessions` | – | `HGETALL`, a `GET` per session, one `EVALSHA` to prune |
 * | `deleteUserSessions` | – | `HGETALL`, `GET` and `EVALSHA` per session, one `EVALSHA` to prune |
 *
 * The index is checked, never trusted: `listSessions` and `deleteUserSessions` load each
 * session and act only on those whose data still names the user (`_keepstate_user`, else
 * `_auth_user_id`), and prune the rest from the hash. A session is filed before it is written,
 * so an entry whose session is missing or names another user is kept for a minute after it was
 * written, as that write may be in flight. On a Cluster the hash lives in another
 * slot than the sessions, which is why no command names both. Sessions written by Django, or
 * by a keepstate before the index, are not in it.
 *
 * @see https://github.com/martinrusev/django-redis-sessions/blob/master/redis_sessions/session.py
 * @see https://redis.io/docs/latest/commands/set/
 * @see https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 */
export class RedisStore implements SessionStore {
  readonly selfExpiring = true;
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #binding = new StoreBinding('RedisStore');
  readonly #index: RedisUserIndex;

  /** @throws ImproperlyConfigured when `prefix` is not a string */
  constructor(client: RedisClient, options: RedisStoreOptions = {}) {
    const prefix = options.prefix ?? '';
    if (typeof prefix !== 'string') {
      throw new ImproperlyConfigured(
        `keepstate: RedisStore's \`prefix\` must be a string (django-redis-sessions' SESSION_REDIS['prefix']), got ${typeof prefix}`,
      );
    }
    this.#client = client;
    this.#prefix = prefix;
    this.#index = new RedisUserIndex(client, prefix);
  }

  /** Takes the manager's codec, clock and cookie age. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * `GET`s and decodes the record. Data that does not verify loads as `{}` under the same key,
   * as in Django.
   * @throws StoreError when Redis fails
   */
  async load(sessionKey: string): Promise<SessionRecord | null> {
    this.#binding.ensureAttached();
    const value = await this.#run('GET', () => this.#client.get(this.#key(sessionKey)));
    // Redis expires by its own clock; an instant in the data is checked against ours too.
    return value === null ? null : this.#binding.recordOf(sessionKey, value);
  }

  /**
   * `SET key value PX ttl NX`, after filing the session in its user's index when it has one.
   * @throws CreateError when a record has the key
   * @throws StoreError when Redis fails
   */
  async create(record: SessionRecord): Promise<string> {
    const key = this.#key(record.sessionKey);
    const value = this.#binding.codec.encode(record.data);
    const ttl = this.#ttl(record);
    if (!(ttl > 0)) {
      // Nothing to write; only say whether the key was taken.
      if ((await this.#run('EXISTS', () => this.#client.exists(key))) > 0) {
        throw new CreateError('The session key is taken');
      }
      return record.sessionKey;
    }
    await this.#file(record.sessionKey, record, ttl);
    const reply = await this.#run('SET NX', () => this.#client.set(key, value, 'PX', ttl, 'NX'));
    if (reply === null) {
      throw new CreateError('The session key is taken');
    }
    return record.sessionKey;
  }

  /**
   * `SET key value PX ttl XX`, after filing the session in its user's index when it has one;
   * `DEL` when `expiresAt` has passed.
   * @throws UpdateError when no record has the key
   * @throws StoreError when Redis fails
   */
  async save(record: SessionRecord): Promise<string> {
    const key = this.#key(record.sessionKey);
    const value = this.#binding.codec.encode(record.data);
    const ttl = this.#ttl(record);
    if (ttl > 0) await this.#file(record.sessionKey, record, ttl);
    const written =
      ttl > 0
        ? (await this.#run('SET XX', () => this.#client.set(key, value, 'PX', ttl, 'XX'))) !== null
        : (await this.#run('DEL', () => this.#client.del(key))) > 0;
    if (!written) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
  }

  /**
   * Merges into the latest stored data with a compare-and-set: `GET` and decode the value, call
   * `merge`, file the result in its user's index when it has a `userId`, then a script that
   * writes it (`SET … PX ttl`, or `DEL` when its `expiresAt` has passed) only if the key still
   * holds the value read. When another write came in between, it starts again, after a random
   * pause of a few milliseconds from the fourth attempt on.
   *
   * @throws UpdateError when no live record has the key, or it was deleted meanwhile
   * @throws StoreError when Redis fails, or the session kept changing for 50 attempts
   */
  async update(sessionKey: string, merge: SessionMerge, loaded?: LoadedVersion): Promise<string> {
    this.#binding.ensureAttached();
    const key = this.#key(sessionKey);
    let filed = '';
    // The value the request loaded is the first guess: when nothing was written since, the
    // compare-and-set lands without a second GET.
    let known = loaded;
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      if (attempt >= EAGER_ATTEMPTS) await delay(Math.random() * 2 * Math.min(attempt, 10));
      let stored: string;
      let latest: SessionData;
      if (known !== undefined) {
        ({ version: stored, data: latest } = known);
        known = undefined;
      } else {
        const read = await this.#run('GET', () => this.#client.get(key));
        const found = read === null ? null : this.#binding.recordOf(sessionKey, read);
        if (read === null || found === null) {
          throw new UpdateError('The session no longer exists');
        }
        stored = read;
        latest = found.data;
      }
      const record = merge(latest);
      const ttl = this.#ttl(record);
      let value = '';
      if (ttl > 0) {
        value = this.#binding.codec.encode(record.data);
        if (record.userId !== undefined) {
          // A retry with the same user and expiry needs no second filing.
          const filing = JSON.stringify([record.userId, record.expiresAt, record.userAgent]);
          if (filing !== filed) await this.#file(sessionKey, record, ttl);
          filed = filing;
        }
      }
      const reply = await this.#run('EVALSHA', () =>
        COMPARE_AND_SET.run(this.#client, key, [stored, value, Math.max(ttl, 0)]),
      );
      if (reply === 1) return sessionKey;
      if (reply === -1) throw new UpdateError('The session no longer exists');
    }
    throw new StoreError(
      `keepstate: RedisStore could not update a session: it changed under each of ${UPDATE_ATTEMPTS} attempts (too many concurrent requests on one session)`,
    );
  }

  /**
   * The live sessions filed under `userId`: `HGETALL` of the user's index, then a `GET` of each
   * session still within its `expiresAt`, kept only if its data still names the user. Entries
   * of sessions gone, expired or now someone else's are pruned from the index, with one script,
   * once a minute has passed since they were written (the session's write may be in flight).
   *
   * @throws StoreError when Redis fails
   */
  async listSessions(userId: string): Promise<UserSession[]> {
    this.#binding.ensureAttached();
    const fields = await this.#run('HGETALL', () => this.#index.read(userId));
    const now = nowMs(this.#binding.clock);
    const live: UserSession[] = [];
    const stale: RedisIndexField[] = [];
    await Promise.all(
      fields.map(async (field) => {
        const { entry } = field;
        if (entry === null || entry.expiresAt <= now) {
          stale.push(field);
        } else if ((await this.#owner(field.sessionKey)).userId !== userId) {
          if (settled(field, now)) stale.push(field);
        } else {
          live.push(userSessionOf(field.sessionKey, entry));
        }
      }),
    );
    await this.#run('EVALSHA', () => this.#index.prune(userId, stale));
    return live;
  }

  /**
   * Deletes every session filed under `userId` but `options.except`: `HGETALL` of the user's
   * index, then for each session a `GET` and, if its data still names the user, a script that
   * deletes it only if unchanged since (a session changed meanwhile is read again). The entries
   * of the sessions deleted, and of those gone or someone else's for more than a minute, are
   * then pruned from the index, with one script.
   *
   * @returns how many sessions were deleted
   * @throws StoreError when Redis fails
   */
  async deleteUserSessions(
    userId: string,
    options: DeleteUserSessionsOptions = {},
  ): Promise<number> {
    this.#binding.ensureAttached();
    const fields = (await this.#run('HGETALL', () => this.#index.read(userId))).filter(
      (field) => field.sessionKey !== options.except,
    );
    const deleted = await Promise.all(
      fields.map((field) => this.#deleteOwned(field.sessionKey, userId)),
    );
    const now = nowMs(this.#binding.clock);
    const stale = fields.filter((field, i) => deleted[i] === true || settled(field, now));
    await this.#run('EVALSHA', () => this.#index.prune(userId, stale));
    return deleted.filter(Boolean).length;
  }

  /** `DEL`. @throws StoreError when Redis fails */
  async delete(sessionKey: string): Promise<void> {
    await this.#run('DEL', () => this.#client.del(this.#key(sessionKey)));
  }

  /** `EXISTS`. @throws StoreError when Redis fails */
  async exists(sessionKey: string): Promise<boolean> {
    return (await this.#run('EXISTS', () => this.#client.exists(this.#key(sessionKey)))) > 0;
  }

  /** Does nothing: Redis deletes expired keys itself. @returns 0 */
  async clearExpired(): Promise<number> {
    return 0;
  }

  // django-redis-sessions' get_real_stored_key.
  #key(sessionKey: string): string {
    return this.#prefix === '' ? sessionKey : `${this.#prefix}:${sessionKey}`;
  }

  /** Files the session in its user's index, when the record has a user. */
  async #file(sessionKey: string, record: SessionRecord, ttl: number): Promise<void> {
    const { userId, userAgent, expiresAt } = record;
    if (userId === undefined) return;
    const now = this.#binding.clock();
    await this.#run('EVALSHA', () =>
      this.#index.file(
        userId,
        sessionKey,
        { now, expiresAt, ...(userAgent !== undefined && { userAgent }) },
        ttl,
      ),
    );
  }

  /** The stored value of a session, and the user its data names (`undefined` when none). */
  async #owner(sessionKey: string): Promise<{ value: string | null; userId?: string }> {
    const value = await this.#run('GET', () => this.#client.get(this.#key(sessionKey)));
    const record = value === null ? null : this.#binding.recordOf(sessionKey, value);
    const userId = record === null ? undefined : sessionUserId(record.data);
    return userId === undefined ? { value } : { value, userId };
  }

  /** Deletes the session if its data names `userId`, unless it changes in between. */
  async #deleteOwned(sessionKey: string, userId: string): Promise<boolean> {
    const key = this.#key(sessionKey);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      if (attempt >= EAGER_ATTEMPTS) await delay(Math.random() * 2 * Math.min(attempt, 10));
      const { value, userId: owner } = await this.#owner(sessionKey);
      if (value === null || owner !== userId) return false;
      const reply = await this.#run('EVALSHA', () =>
        COMPARE_AND_SET.run(this.#client, key, [value, '', 0]),
      );
      if (reply !== 0) return reply === 1;
    }
    throw new StoreError(
      `keepstate: RedisStore could not delete a session of a user: it changed under each of ${UPDATE_ATTEMPTS} attempts`,
    );
  }

  /** Milliseconds from the manager's now until `expiresAt`. */
  #ttl(record: SessionRecord): number {
    return record.expiresAt.getTime() - nowMs(this.#binding.clock);
  }

  async #run<T>(command: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw driverFailure('RedisStore', `run ${command}`, error);
    }
  }
}

/**
 * Whether an entry may be pruned though its session is missing or names another user: it is
 * unreadable, expired, or older than the grace given to a write in flight.
 */
function settled(field: RedisIndexField, now: number): boolean {
  const { entry } = field;
  return entry === null || entry.expiresAt <= now || now - entry.lastActivity >= FILING_GRACE;
}
