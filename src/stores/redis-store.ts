import { driverFailure } from '../core/driver-failure.js';
import { CreateError, UpdateError } from '../core/errors.js';
import type { SessionRecord, SessionStore, StoreContext } from '../core/session-store.js';
import { StoreBinding } from '../core/store-binding.js';
import { ImproperlyConfigured } from '../improperly-configured.js';

/**
 * The Redis commands a {@link RedisStore} sends, typed so that an ioredis `Redis` (standalone or
 * through Sentinel) and an ioredis `Cluster` both fit without a cast. Every command names one key,
 * so each is a single-slot operation on a cluster.
 *
 * @see https://github.com/redis/ioredis
 */
export interface RedisClient {
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
 * @see https://github.com/martinrusev/django-redis-sessions/blob/master/redis_sessions/session.py
 * @see https://redis.io/docs/latest/commands/set/
 */
export class RedisStore implements SessionStore {
  readonly selfExpiring = true;
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #binding = new StoreBinding('RedisStore');

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
   * `SET key value PX ttl NX`.
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
    const reply = await this.#run('SET NX', () => this.#client.set(key, value, 'PX', ttl, 'NX'));
    if (reply === null) {
      throw new CreateError('The session key is taken');
    }
    return record.sessionKey;
  }

  /**
   * `SET key value PX ttl XX`; `DEL` when `expiresAt` has passed.
   * @throws UpdateError when no record has the key
   * @throws StoreError when Redis fails
   */
  async save(record: SessionRecord): Promise<string> {
    const key = this.#key(record.sessionKey);
    const value = this.#binding.codec.encode(record.data);
    const ttl = this.#ttl(record);
    const written =
      ttl > 0
        ? (await this.#run('SET XX', () => this.#client.set(key, value, 'PX', ttl, 'XX'))) !== null
        : (await this.#run('DEL', () => this.#client.del(key))) > 0;
    if (!written) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
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

  /** Milliseconds from the manager's now until `expiresAt`. */
  #ttl(record: SessionRecord): number {
    return record.expiresAt.getTime() - this.#binding.clock().getTime();
  }

  async #run<T>(command: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw driverFailure('RedisStore', `run ${command}`, error);
    }
  }
}
