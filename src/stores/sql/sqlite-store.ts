import { driverFailure } from '../../core/driver-failure.js';
import { CreateError, UpdateError } from '../../core/errors.js';
import type {
  ClearExpiredOptions,
  SessionRecord,
  SessionStore,
  StoreContext,
} from '../../core/session-store.js';
import { StoreBinding } from '../../core/store-binding.js';
import { clearInBatches } from './clear-in-batches.js';
import { djangoIndexName } from './django-index-name.js';
import { expireDateText, parseExpireDateText } from './expire-date-text.js';
import { resolveSqlStoreOptions, type SqlStoreOptions } from './sql-store-options.js';

/**
 * What {@link SqliteStore} needs of a better-sqlite3 `Database`. Structural, so this module never
 * loads the driver: pass the `Database` you opened.
 *
 * @see https://github.com/WiseLibs/better-sqlite3/blob/master/docs/api.md
 */
export interface SqliteDatabase {
  prepare(source: string): SqliteStatement;
}

/** What {@link SqliteStore} needs of a better-sqlite3 `Statement`. */
export interface SqliteStatement {
  run(...parameters: unknown[]): { readonly changes: number | bigint };
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
}

/** Options of a {@link SqliteStore}. */
export interface SqliteStoreOptions extends SqlStoreOptions {
  /**
   * Switches the database file to write-ahead logging when the store is made, default `true`:
   * readers then never wait for the writer. The mode is kept in the file, and Django's sqlite3
   * connections work with it unchanged. Not for files on a network share.
   */
  readonly wal?: boolean;
}

interface SessionRow {
  readonly session_data: unknown;
  readonly expire_date: unknown;
}

interface ListedRow extends SessionRow {
  readonly session_key: unknown;
}

const STORE = 'SqliteStore';

/**
 * Keeps sessions in an SQLite database, in the `django_session` table exactly as Django's `db`
 * engine and `migrate` lay it out, so a Django app on the same file shares the sessions: the
 * embedded default for keepstate.
 *
 * `expire_date` is Django's naive UTC text (`2023-11-28 22:13:20`, `.ffffff` only when the
 * fraction is not zero), and `load` compares it as TEXT against now written the same way, as
 * Django does; so a foreign row spelled otherwise (`2023-11-14T23:13:20`) lives exactly as long
 * as it would under Django. `session_data` is Django's encoding with the manager's secret.
 *
 * The store never closes the database it was given.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export class SqliteStore implements SessionStore {
  /** The session table. */
  readonly table: string;
  readonly #db: SqliteDatabase;
  readonly #binding = new StoreBinding(STORE);
  readonly #batchSize: number;
  readonly #statements = new Map<string, SqliteStatement>();
  readonly #sql: Readonly<
    Record<'load' | 'create' | 'save' | 'delete' | 'exists' | 'clear' | 'list', string>
  >;
  readonly #ddl: readonly string[];

  /**
   * @param database - a better-sqlite3 `Database`; the store does not close it
   * @throws ImproperlyConfigured when `table` or `clearBatchSize` is invalid
   * @throws StoreError when the database cannot be switched to WAL mode
   */
  constructor(database: SqliteDatabase, options: SqliteStoreOptions = {}) {
    const { table, clearBatchSize } = resolveSqlStoreOptions(options, STORE);
    this.table = table;
    this.#db = database;
    this.#batchSize = clearBatchSize;
    const t = `"${table}"`;
    this.#sql = {
      load: `SELECT session_data, expire_date FROM ${t} WHERE session_key = ? AND expire_date > ?`,
      // Insert-if-absent in one statement; a row that is there but expired is taken over, as
      // load would not return it anyway.
      create: `INSERT INTO ${t} (session_key, session_data, expire_date) VALUES (?, ?, ?) ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, expire_date = excluded.expire_date WHERE ${t}.expire_date <= ?`,
      save: `UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ?`,
      delete: `DELETE FROM ${t} WHERE session_key = ?`,
      exists: `SELECT 1 FROM ${t} WHERE session_key = ? AND expire_date > ?`,
      clear: `DELETE FROM ${t} WHERE session_key IN (SELECT session_key FROM ${t} WHERE expire_date < ? LIMIT ?)`,
      list: `SELECT session_key, session_data, expire_date FROM ${t} WHERE expire_date > ? ORDER BY expire_date DESC LIMIT ?`,
    };
    const index = djangoIndexName(table, ['expire_date']);
    this.#ddl = [
      `CREATE TABLE IF NOT EXISTS ${t} ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "${index}" ON ${t} ("expire_date")`,
    ];
    if (options.wal ?? true) {
      this.#run('switch the database to WAL mode', () =>
        database.prepare('PRAGMA journal_mode = WAL').get(),
      );
    }
  }

  /** Takes the manager's codec and clock. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * Creates the table and its `expire_date` index if they are missing, with the exact SQL of
   * Django's `migrate`; safe to run again.
   *
   * @throws StoreError when the database refuses
   */
  async migrate(): Promise<void> {
    this.#run('create its table', () => {
      for (const statement of this.#ddl) this.#db.prepare(statement).run();
    });
  }

  /**
   * The record under `sessionKey` when its `expire_date` is after now. Data that does not decode
   * (another secret, tampering) gives the record with empty data, as Django keeps the key; an
   * `expire_date` Django could not read gives `null`.
   *
   * @throws StoreError when the database fails
   */
  async load(sessionKey: string): Promise<SessionRecord | null> {
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const row = this.#run(
      'load a session',
      () => this.#statement(this.#sql.load).get(sessionKey, now) as SessionRow | undefined,
    );
    if (row === undefined) return null;
    const expiresAt = parseExpireDateText(String(row.expire_date));
    if (expiresAt === null) return null;
    return { sessionKey, data: codec.decode(String(row.session_data)) ?? {}, expiresAt };
  }

  /**
   * Inserts the record; a live record with the key makes it a {@link CreateError}.
   * @throws StoreError when the database fails
   */
  async create(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const expireDate = expireDateText(record.expiresAt);
    const now = expireDateText(this.#binding.clock());
    const changes = this.#run('create a session', () => {
      try {
        return this.#statement(this.#sql.create).run(record.sessionKey, data, expireDate, now)
          .changes;
      } catch (error) {
        if (isUniqueViolation(error)) return 0;
        throw error;
      }
    });
    if (Number(changes) === 0) {
      throw new CreateError('The session key is taken');
    }
    return record.sessionKey;
  }

  /**
   * Updates the record's data and expiry; no row with the key makes it an {@link UpdateError}.
   * Like Django, an expired row is still updated.
   * @throws StoreError when the database fails
   */
  async save(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const expireDate = expireDateText(record.expiresAt);
    // SQLite counts the rows an UPDATE matched, changed or not.
    const changes = this.#run(
      'save a session',
      () => this.#statement(this.#sql.save).run(data, expireDate, record.sessionKey).changes,
    );
    if (Number(changes) === 0) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
  }

  /** @throws StoreError when the database fails */
  async delete(sessionKey: string): Promise<void> {
    this.#run('delete a session', () => this.#statement(this.#sql.delete).run(sessionKey));
  }

  /**
   * Whether a row with the key has an `expire_date` after now. (Django's `exists` ignores
   * `expire_date`; keepstate's contract asks for live records.)
   * @throws StoreError when the database fails
   */
  async exists(sessionKey: string): Promise<boolean> {
    const now = expireDateText(this.#binding.clock());
    const row = this.#run('check a session', () =>
      this.#statement(this.#sql.exists).get(sessionKey, now),
    );
    return row !== undefined;
  }

  /**
   * Deletes the rows whose `expire_date` is before now (Django's `clear_expired`), at most
   * `clearBatchSize` per statement, yielding to other work between statements.
   *
   * @returns how many rows were deleted
   * @throws StoreError when the database fails
   */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = expireDateText(this.#binding.clock());
    return clearInBatches(
      () =>
        Number(
          this.#run(
            'clear expired sessions',
            () => this.#statement(this.#sql.clear).run(now, this.#batchSize).changes,
          ),
        ),
      this.#batchSize,
      options,
    );
  }

  /**
   * Up to `limit` live records, those that expire last first (for an admin page). Data that does
   * not decode lists as `{}`, as `load` gives it; a row whose `expire_date` Django could not read
   * is left out.
   *
   * @throws RangeError when `limit` is not a non-negative integer
   * @throws StoreError when the database fails
   */
  async list(limit: number): Promise<SessionRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`${STORE}: list() takes a non-negative integer, got ${limit}`);
    }
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const rows = this.#run(
      'list sessions',
      () => this.#statement(this.#sql.list).all(now, limit) as ListedRow[],
    );
    return rows.flatMap((row) => {
      const expiresAt = parseExpireDateText(String(row.expire_date));
      if (expiresAt === null) return [];
      const data = codec.decode(String(row.session_data)) ?? {};
      return [{ sessionKey: String(row.session_key), data, expiresAt }];
    });
  }

  #statement(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      // Preparing fails while the table is missing; nothing is cached until it succeeds.
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      const missing = /no such table/i.test(String((error as Error | null)?.message));
      throw driverFailure(
        STORE,
        action,
        error,
        missing
          ? `create the table "${this.table}" with migrate() or \`keepstate migrate\``
          : undefined,
      );
    }
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
