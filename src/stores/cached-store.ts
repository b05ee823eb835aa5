import { CreateError, UpdateError } from '../core/errors.js';
import { consoleSecurityLogger, type SecurityLogger } from '../core/security-logger.js';
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
import { sessionUserAgent, sessionUserId } from '../core/session-user.js';

type Migratable = SessionStore & { migrate?: () => Promise<void> };

/**
 * A fast store in front of a durable one: Django's `cached_db` engine, for any pair (Redis over
 * PostgreSQL, memory over SQLite, ...).
 *
 * Reads try the cache, then the durable store, and put what they found back in the cache.
 * `create` and `save` go to the durable store first, then to the cache. `update` merges in the
 * durable store (atomically when it has an `update`, else by `load`, `merge` and `save`) and then
 * evicts the cache entry rather than writing it: writing it could bring back a session that a
 * concurrent logout has just deleted from both. The durable store stays the source of truth: a
 * failing cache is logged and never fails the request.
 *
 * `listSessions` and `deleteUserSessions` are the durable store's, when it has them.
 * `deleteUserSessions` also ends the user's sessions in the cache through the cache's own
 * `deleteUserSessions` (records put in the cache carry their user, read from the data when they
 * come from a load).
 *
 * The gaps, all of them bounded by the cache's expiry of its entries (give the cache a short TTL
 * where logouts must be instant everywhere): a cache that fails while a session is deleted may
 * serve that session until then; a cache with no user index (no `deleteUserSessions`) keeps
 * serving the sessions `deleteUserSessions` deleted; and a read that began before a write or a
 * delete may put what it read back in the cache after it (reads may then see it; `update` still
 * merges into the durable data, so no change is lost, and fails once the record is deleted).
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cached-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/cached_db.py
 */
export class CachedStore implements SessionStore {
  readonly cache: SessionStore;
  readonly durable: SessionStore;
  #logger: SecurityLogger = consoleSecurityLogger;

  /** The durable store's `list`, when it has one. */
  readonly list?: (limit: number) => Promise<SessionRecord[]>;
  /** The durable store's `listSessions`, when it has one. */
  readonly listSessions?: (userId: string) => Promise<UserSession[]>;
  /**
   * Deletes the user's sessions from the durable store, then from the cache (when the cache has a
   * user index of its own; see the class). Present when the durable store has it.
   * @returns how many sessions the durable store deleted
   */
  readonly deleteUserSessions?: (
    userId: string,
    options?: DeleteUserSessionsOptions,
  ) => Promise<number>;

  constructor(cache: SessionStore, durable: SessionStore) {
    this.cache = cache;
    this.durable = durable;
    const list = durable.list?.bind(durable);
    if (list) this.list = list;
    const listSessions = durable.listSessions?.bind(durable);
    if (listSessions) this.listSessions = listSessions;
    const deleteUserSessions = durable.deleteUserSessions?.bind(durable);
    if (deleteUserSessions) {
      this.deleteUserSessions = async (userId, options) => {
        const deleted = await deleteUserSessions(userId, options);
        await this.#tryCache('deleteUserSessions', async () =>
          this.cache.deleteUserSessions?.(userId, options),
        );
        return deleted;
      };
    }
  }

  /** Attaches both stores to the manager. */
  attach(context: StoreContext): void {
    this.cache.attach?.(context);
    this.durable.attach?.(context);
    this.#logger = context.logger;
  }

  /** The durable store decides which keys are valid. */
  isValidKey(value: string): boolean {
    return this.durable.isValidKey?.(value) ?? isValidSessionKey(value);
  }

  async load(sessionKey: string): Promise<SessionRecord | null> {
    const cached = await this.#tryCache('load', () => this.cache.load(sessionKey));
    if (cached) return cached;
    const record = await this.durable.load(sessionKey);
    if (record !== null) await this.#fill(record);
    return record;
  }

  async create(record: SessionRecord): Promise<string> {
    const value = await this.durable.create(record);
    await this.#fill(record);
    return value;
  }

  async save(record: SessionRecord): Promise<string> {
    const value = await this.durable.save(record);
    await this.#fill(record);
    return value;
  }

  /**
   * Merges in the durable store, with its atomic `update` when it has one (else `load`, `merge`
   * and `save`: the last write wins), then evicts the cache entry, also when the update failed.
   *
   * @throws UpdateError when the durable store has no live record with the key
   */
  async update(sessionKey: string, merge: SessionMerge): Promise<string> {
    try {
      if (this.durable.update !== undefined) return await this.durable.update(sessionKey, merge);
      const latest = await this.durable.load(sessionKey);
      if (latest === null) throw new UpdateError('The session no longer exists');
      return await this.durable.save(merge(latest.data));
    } finally {
      await this.#tryCache('delete', () => this.cache.delete(sessionKey));
    }
  }

  async delete(sessionKey: string): Promise<void> {
    await this.durable.delete(sessionKey);
    await this.#tryCache('delete', () => this.cache.delete(sessionKey));
  }

  async exists(sessionKey: string): Promise<boolean> {
    const cached = await this.#tryCache('exists', () => this.cache.exists(sessionKey));
    return cached === true || (await this.durable.exists(sessionKey));
  }

  /** Runs `migrate()` of each store that has one (the SQL stores), so the CLI can set a pair up. */
  async migrate(): Promise<void> {
    for (const store of [this.durable, this.cache] as Migratable[]) await store.migrate?.();
  }

  /** Clears the durable store, and the cache too unless it expires records by itself. */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const deleted = await this.durable.clearExpired(options);
    if (this.cache.selfExpiring !== true)
      await this.#tryCache('clearExpired', () => this.cache.clearExpired());
    return deleted;
  }

  /**
   * Writes `record` to the cache whether or not the cache holds it already (Django's `set`),
   * with its user, so a cache with a user index can end it in `deleteUserSessions`.
   */
  async #fill(loaded: SessionRecord): Promise<void> {
    const record = withUser(loaded);
    await this.#tryCache('write', async () => {
      try {
        await this.cache.save(record);
      } catch (error) {
        if (!(error instanceof UpdateError)) throw error;
        try {
          await this.cache.create(record);
        } catch (raced) {
          // Another request filled it between our two calls: its copy is as good as ours.
          if (!(raced instanceof CreateError)) throw raced;
        }
      }
    });
  }

  async #tryCache<R>(operation: string, run: () => Promise<R>): Promise<R | undefined> {
    try {
      return await run();
    } catch (error) {
      this.#logger.warn(`Session cache failed (${operation}); using the durable store`, {
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }
}

/** `record` with the user its data names, for records that come from a load (which has none). */
function withUser(record: SessionRecord): SessionRecord {
  if (record.userId !== undefined) return record;
  const userId = sessionUserId(record.data);
  if (userId === undefined) return record;
  const userAgent = sessionUserAgent(record.data);
  return { ...record, userId, ...(userAgent !== undefined && { userAgent }) };
}
