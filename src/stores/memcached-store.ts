import { driverFailure } from '../core/driver-failure.js';
import { CreateError, UpdateError } from '../core/errors.js';
import type { SessionRecord, SessionStore, StoreContext } from '../core/session-store.js';
import { StoreBinding } from '../core/store-binding.js';
import { ImproperlyConfigured } from '../improperly-configured.js';

/**
 * The memcached commands a {@link MemcachedStore} sends, typed so that a memjs `Client` fits
 * without a cast. `expires` is memcached's exptime: seconds, or a unix time past 30 days.
 *
 * @see https://github.com/memcachier/memjs
 */
export interface MemcachedClient {
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
   * ASCII without spaces, at most 200 characters (memcached keys end at 250 bytes).
   */
  readonly prefix?: string;
}

// memcached reads an exptime above 30 days as a unix time.
const MAX_RELATIVE_EXPTIME = 2_592_000;

const PREFIX = /^[\x21-\x7e]{0,200}$/;

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
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cached-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/cache.py
 * @see https://github.com/memcached/memcached/wiki/Programming#expiration
 */
export class MemcachedStore implements SessionStore {
  readonly selfExpiring = true;
  readonly #client: MemcachedClient;
  readonly #prefix: string;
  readonly #binding = new StoreBinding('MemcachedStore');

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
   * `add`.
   * @throws CreateError when a record has the key
   * @throws StoreError when memcached fails
   */
  async create(record: SessionRecord): Promise<string> {
    const key = this.#key(record.sessionKey);
    const value = this.#binding.codec.encode(record.data);
    const expires = this.#exptime(record);
    const added =
      expires === null
        ? // Nothing to write; only say whether the key was taken.
          (await this.#run('get', () => this.#client.get(key))).value === null
        : await this.#run('add', () => this.#client.add(key, value, { expires }));
    if (!added) throw new CreateError('The session key is taken');
    return record.sessionKey;
  }

  /**
   * `replace`; `delete` when `expiresAt` has passed.
   * @throws UpdateError when no record has the key
   * @throws StoreError when memcached fails
   */
  async save(record: SessionRecord): Promise<string> {
    const key = this.#key(record.sessionKey);
    const value = this.#binding.codec.encode(record.data);
    const expires = this.#exptime(record);
    const written =
      expires === null
        ? await this.#run('delete', () => this.#client.delete(key))
        : await this.#run('replace', () => this.#client.replace(key, value, { expires }));
    if (!written) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
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

  /**
   * memcached's exptime for `record`, or `null` when it has expired. 0 would mean "never", so a
   * record with less than a second left counts as expired.
   */
  #exptime(record: SessionRecord): number | null {
    const seconds = Math.floor(
      (record.expiresAt.getTime() - this.#binding.clock().getTime()) / 1000,
    );
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
