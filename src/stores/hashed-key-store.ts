import { isValidSessionKey } from '../core/session-key.js';
import type {
  ClearExpiredOptions,
  DeleteUserSessionsOptions,
  SessionMerge,
  SessionRecord,
  SessionStore,
  StoreContext,
  UserSession,
} from '../core/session-store.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import { saltedHmac } from '../signing/salted-hmac.js';

// Namespaces the HMAC key, so a stored key is never a valid signature of anything else.
const KEY_SALT = 'keepstate.stores.HashedKeyStore';
const MIN_SECRET_LENGTH = 32;
// 160 bits of HMAC-SHA256 in hex: fits Django's `session_key varchar(40)` and `[a-z0-9]`.
const STORED_KEY_LENGTH = 40;

/**
 * Keeps sessions in another store under a hash of their key: the cookie carries the session key,
 * the store only `HMAC-SHA256(secret, key)` (40 hex digits). Someone who reads the store (a
 * leaked backup, a read-only SQL injection, a shared Redis) then holds no working cookie. Every
 * key is hashed before it reaches the store, for every call.
 *
 * Off by default, because it breaks sharing sessions with Django: Django looks rows up by the
 * key in the cookie, and finds none. Wrap server-side stores only (memory, SQL, file, Redis,
 * memcached, cached); a cookie store has no key to hash, and `create` says so.
 *
 * The secret cannot be rotated without logging everyone out: a hash made with the old secret is
 * not found with the new one. `list()` gives the stored keys, which are the hashes.
 *
 * `update`, `listSessions` and `deleteUserSessions` are there when the wrapped store has them.
 * The user index lives in the wrapped store, which only knows stored keys, so the `keyHash` of
 * each listed session is `sessionKeyHash(storedKey(sessionKey))`, not `sessionKeyHash(sessionKey)`:
 * there is no way back from a stored key to the session key. To mark the current session in a
 * list, compare with `sessionKeyHash(store.storedKey(session.sessionKey))`.
 *
 * @example
 * const store = new HashedKeyStore(new SqliteStore(db), process.env.SESSION_KEY_HASH_SECRET!);
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-id-content-or-value
 */
export class HashedKeyStore implements SessionStore {
  /** The store the hashed keys are kept in. */
  readonly store: SessionStore;
  /** The wrapped store's. */
  readonly selfExpiring?: boolean;
  /** The wrapped store's `list`, when it has one; its records carry the stored (hashed) keys. */
  readonly list?: (limit: number) => Promise<SessionRecord[]>;
  /**
   * The wrapped store's `update`, under the stored key: `merge` gets the latest data and its
   * record is written under the stored key.
   * @throws UpdateError when the wrapped store has no live record with the stored key
   * @throws ImproperlyConfigured when the wrapped store issues cookie values of its own
   */
  readonly update?: (sessionKey: string, merge: SessionMerge) => Promise<string>;
  /**
   * The wrapped store's `listSessions`. Each `keyHash` is the hash of the stored key (see the
   * class), since the session keys themselves are not kept anywhere.
   */
  readonly listSessions?: (userId: string) => Promise<UserSession[]>;
  /**
   * The wrapped store's `deleteUserSessions`, with `options.except` turned into its stored key.
   * @returns how many sessions were deleted
   */
  readonly deleteUserSessions?: (
    userId: string,
    options?: DeleteUserSessionsOptions,
  ) => Promise<number>;
  readonly #secret: string | Buffer;

  /**
   * @param store - a server-side store
   * @param secret - the HMAC key, at least 32 characters (the manager's `secret` will do)
   * @throws ImproperlyConfigured when `secret` is missing or shorter than 32 characters
   */
  constructor(store: SessionStore, secret: string | Buffer) {
    if (
      !(typeof secret === 'string' || Buffer.isBuffer(secret)) ||
      secret.length < MIN_SECRET_LENGTH
    ) {
      throw new ImproperlyConfigured(
        `keepstate: HashedKeyStore's secret must be at least ${MIN_SECRET_LENGTH} characters, e.g. from \`openssl rand -base64 48\`.`,
      );
    }
    this.store = store;
    this.#secret = secret;
    if (store.selfExpiring !== undefined) this.selfExpiring = store.selfExpiring;
    const list = store.list?.bind(store);
    if (list) this.list = list;
    const update = store.update?.bind(store);
    if (update) {
      this.update = async (sessionKey, merge) => {
        const stored = this.storedKey(sessionKey);
        const value = await update(stored, (latest) => ({ ...merge(latest), sessionKey: stored }));
        return this.#issued(sessionKey, value);
      };
    }
    const listSessions = store.listSessions?.bind(store);
    if (listSessions) this.listSessions = listSessions;
    const deleteUserSessions = store.deleteUserSessions?.bind(store);
    if (deleteUserSessions) {
      this.deleteUserSessions = (userId, options = {}) => {
        const except = options.except;
        return deleteUserSessions(userId, {
          ...options,
          except: except === undefined || except === null ? null : this.storedKey(except),
        });
      };
    }
  }

  /** The key a session is stored under: 40 hex digits of `HMAC-SHA256(secret, sessionKey)`. */
  storedKey(sessionKey: string): string {
    return saltedHmac(KEY_SALT, sessionKey, this.#secret, 'sha256')
      .toString('hex')
      .slice(0, STORED_KEY_LENGTH);
  }

  /** Attaches the wrapped store. */
  attach(context: StoreContext): void {
    this.store.attach?.(context);
  }

  /** The cookie carries a plain session key: {@link isValidSessionKey}. */
  isValidKey(value: string): boolean {
    return isValidSessionKey(value);
  }

  async load(sessionKey: string): Promise<SessionRecord | null> {
    const record = await this.store.load(this.storedKey(sessionKey));
    return record === null ? null : { ...record, sessionKey };
  }

  /** @throws ImproperlyConfigured when the wrapped store issues cookie values of its own */
  async create(record: SessionRecord): Promise<string> {
    return this.#issued(record.sessionKey, await this.store.create(this.#stored(record)));
  }

  /** @throws ImproperlyConfigured when the wrapped store issues cookie values of its own */
  async save(record: SessionRecord): Promise<string> {
    return this.#issued(record.sessionKey, await this.store.save(this.#stored(record)));
  }

  async delete(sessionKey: string): Promise<void> {
    await this.store.delete(this.storedKey(sessionKey));
  }

  async exists(sessionKey: string): Promise<boolean> {
    return this.store.exists(this.storedKey(sessionKey));
  }

  async clearExpired(options?: ClearExpiredOptions): Promise<number> {
    return this.store.clearExpired(options);
  }

  #stored(record: SessionRecord): SessionRecord {
    return { ...record, sessionKey: this.storedKey(record.sessionKey) };
  }

  #issued(sessionKey: string, value: string): string {
    if (value !== this.storedKey(sessionKey)) {
      throw new ImproperlyConfigured(
        'keepstate: HashedKeyStore wraps a store that makes its own cookie values (a cookie store): there is no session key to hash. Wrap a server-side store.',
      );
    }
    return sessionKey;
  }
}
