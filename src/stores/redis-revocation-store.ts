import { driverFailure } from '../core/driver-failure.js';
import { StoreError } from '../core/errors.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import type { RevocationStore } from './revocation-store.js';

/**
 * The Redis commands a {@link RedisRevocationStore} sends, typed so that an ioredis `Redis` and
 * `Cluster` both fit without a cast; each names one key.
 *
 * @see https://github.com/redis/ioredis
 */
export interface RedisRevocationClient {
  get(key: string): Promise<string | null>;
  incr(key: string): Promise<number>;
}

/** Options of a {@link RedisRevocationStore}. */
export interface RedisRevocationStoreOptions {
  /** Joined to the user id with `:`; default `'keepstate:revocation'`. */
  readonly prefix?: string;
}

/**
 * Keeps each user's revocation generation in Redis, shared by every process: one integer key per
 * user ever revoked, `<prefix>:<user id>`, read with `GET` and bumped with `INCR` (atomic, so two
 * revocations at once both count). A user never revoked has no key and generation 0.
 *
 * The keys have no TTL, and must not get one: a counter that vanished would start again at 0,
 * and a later revocation would bump it to a generation that cookies sealed before already carry.
 * Redis eviction (`maxmemory-policy` other than `noeviction` or a `volatile-*` one) could drop
 * them the same way; keep them in a database that does not evict.
 *
 * Pass an ioredis client you created, bounded in time as {@link RedisStore} describes; the store
 * never closes it.
 *
 * @example
 * const revocations = new RedisRevocationStore(new Redis(process.env.REDIS_URL!));
 * const store = new EncryptedCookieStore({ revocation: { store: revocations } });
 * await store.revokeUser(user.id); // "log out everywhere"
 * @see RevocationStore
 * @see https://redis.io/docs/latest/commands/incr/
 */
export class RedisRevocationStore implements RevocationStore {
  readonly #client: RedisRevocationClient;
  readonly #prefix: string;

  /** @throws ImproperlyConfigured when `prefix` is not a non-empty string */
  constructor(client: RedisRevocationClient, options: RedisRevocationStoreOptions = {}) {
    const prefix = options.prefix ?? 'keepstate:revocation';
    if (typeof prefix !== 'string' || prefix === '') {
      throw new ImproperlyConfigured(
        `keepstate: RedisRevocationStore's \`prefix\` must be a non-empty string, got ${JSON.stringify(prefix)}.`,
      );
    }
    this.#client = client;
    this.#prefix = prefix;
  }

  /**
   * `GET`s the user's generation, 0 when the key is missing.
   * @throws StoreError when Redis fails, or the key holds something other than a generation
   */
  async generation(userId: string): Promise<number> {
    const value = await this.#run('GET', () => this.#client.get(this.#key(userId)));
    if (value === null) return 0;
    const generation = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(generation)) {
      // Refusing every cookie of this user is safer than guessing.
      throw new StoreError(
        `keepstate: RedisRevocationStore found ${JSON.stringify(value.slice(0, 20))} under a revocation key, not a generation; another program writes under the prefix ${JSON.stringify(this.#prefix)}.`,
      );
    }
    return generation;
  }

  /** `INCR`s the user's generation and returns the new one. @throws StoreError when Redis fails */
  async revoke(userId: string): Promise<number> {
    return this.#run('INCR', () => this.#client.incr(this.#key(userId)));
  }

  #key(userId: string): string {
    return `${this.#prefix}:${userId}`;
  }

  async #run<T>(command: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw driverFailure('RedisRevocationStore', `run ${command}`, error);
    }
  }
}
