import { CreateError, UpdateError } from '../core/errors.js';
import { consoleSecurityLogger, type SecurityLogger } from '../core/security-logger.js';
import { isValidSessionKey } from '../core/session-key.js';
import type {
  ClearExpiredOptions,
  SessionRecord,
  SessionStore,
  StoreContext,
} from '../core/session-store.js';

type Migratable = SessionStore & { migrate?: () => Promise<void> };

/**
 * A fast store in front of a durable one: Django's `cached_db` engine, for any pair (Redis over
 * PostgreSQL, memory over SQLite, ...).
 *
 * Reads try the cache, then the durable store, and put what they found back in the cache.
 * Writes go to the durable store first, then to the cache. The durable store stays the source of
 * truth: a failing cache is logged and never fails the request. The one gap is a cache that
 * fails while a session is deleted: it may serve that session until its own expiry, so give the
 * cache a short TTL where logouts must be instant everywhere.
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

  constructor(cache: SessionStore, durable: SessionStore) {
    this.cache = cache;
    this.durable = durable;
    const list = durable.list?.bind(durable);
    if (list) this.list = list;
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

  /** Writes `record` to the cache whether or not the cache holds it already (Django's `set`). */
  async #fill(record: SessionRecord): Promise<void> {
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
