import { driverFailure } from '../../core/driver-failure.js';
import { CreateError, UpdateError } from '../../core/errors.js';
import type {
  ClearExpiredOptions,
  DeleteUserSessionsOptions,
  SessionMerge,
  SessionRecord,
  SessionStore,
  StoreContext,
  UserSession,
} from '../../core/session-store.js';
import { StoreBinding } from '../../core/store-binding.js';
import { ImproperlyConfigured } from '../../improperly-configured.js';
import { clearInBatches } from './clear-in-batches.js';
import { djangoIndexName } from './django-index-name.js';
import { expireDateText, parseExpireDateText } from './expire-date-text.js';
import { listedSession, ownedSessions, textTimes } from './owned-by.js';
import { resolveSqlStoreOptions, type SqlStoreOptions } from './sql-store-options.js';
import { TablePresence } from './table-presence.js';
import { type UserIndexEntry, userIndexEntry } from './user-index-entry.js';

/**
 * What {@link SqliteStore} needs of a better-sqlite3 `Database`. Structural, so this module never
 * loads the driver: pass the `Database` you opened.
 *
 * @see https://github.com/WiseLibs/better-sqlite3/blob/master/docs/api.md
 */
export interface SqliteDatabase {
  prepare(source: string): SqliteStatement;
  /** Wraps `fn` in `BEGIN` … `COMMIT` (or `ROLLBACK` when it throws). */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): SqliteTransaction<A, R>;
}

/** What {@link SqliteStore} needs of a better-sqlite3 transaction function. */
export interface SqliteTransaction<A extends unknown[], R> {
  /** Runs the function in a deferred transaction. */
  (...args: A): R;
  /** Runs the function in a `BEGIN IMMEDIATE` transaction: the write lock is taken first. */
  immediate(...args: A): R;
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
  /**
   * The connection's `PRAGMA synchronous`. Default `'NORMAL'` when the store switches the file to
   * WAL (SQLite's own advice for WAL: every commit survives an application crash, and a power
   * loss or operating-system crash can lose only the last commits, never the database's
   * consistency), and the connection's own setting otherwise. `'FULL'` syncs the log at every
   * commit, which on the bench machine made a `save` take about 270 µs instead of 40 µs.
   */
  readonly synchronous?: SqliteSynchronous;
}

/** The values of SQLite's `PRAGMA synchronous` that {@link SqliteStore} sets. */
export type SqliteSynchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

const SYNCHRONOUS: readonly SqliteSynchronous[] = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

interface SessionRow {
  readonly session_data: unknown;
  readonly expire_date: unknown;
}

interface ListedRow extends SessionRow {
  readonly session_key: unknown;
}

interface UserRow extends SessionRow {
  readonly session_key: unknown;
  readonly created_at: unknown;
  readonly last_activity: unknown;
  readonly user_agent: unknown;
}

interface CandidateRow {
  readonly session_key: unknown;
  readonly session_data: unknown;
}

/**
 * What `update`'s transaction found: no live row, the row written (and filed where it had a
 * user), the row written but its user's entry left unfiled for a missing index table, or the
 * merge's own error.
 */
type UpdateOutcome = 'missing' | 'written' | UserIndexEntry | { readonly error: unknown };

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
 * `update` reads, merges and writes inside one `BEGIN IMMEDIATE` transaction, so it is atomic
 * across processes sharing the file too.
 *
 * Sessions with a user (`SessionRecord.userId`) are also filed in a user index table of
 * keepstate's own (`userTable`, default `django_session_keepstate_user`: `session_key`,
 * `user_id`, `created_at`, `last_activity`, `expire_date`, `user_agent`), in the same
 * transaction as the session row; `migrate` makes it. Anonymous writes never touch it. The
 * index is a lookup aid, and the session row stays the truth: `listSessions` and
 * `deleteUserSessions` keep only live sessions whose data still names the user, so an index row
 * left behind by an anonymous write, or by Django, is never listed, and is removed by
 * `deleteUserSessions` or, once stale, by `clearExpired`. Where the index table is missing (a
 * database only Django migrated), sessions are saved unfiled with one warning to run
 * `keepstate migrate`, and `listSessions` fails saying so.
 *
 * The store never closes the database it was given. With WAL (the default) it sets the
 * connection's `synchronous` to `NORMAL` unless told otherwise (the `synchronous` option): the
 * level better-sqlite3's SQLite already gives every connection that opens a file in WAL mode, but
 * not the connection that switched the file to WAL. The setting is per connection, not kept in
 * the file, so a Django process on the same file keeps its own. SQLite's default, `FULL`, syncs the log to disk at every commit, and that sync is most
 * of a write's cost: on the bench machine's disk a `save` took about 270 µs with `FULL` and 40 µs
 * with `NORMAL`, an `update` 230 µs and 45 µs (`bench/micro/sqlite-store.mjs`). `NORMAL` keeps
 * every commit through an application crash, and on a power loss or an operating system crash can
 * lose only the last commits, never the database's consistency: at worst a visitor logs in again.
 * Pass `synchronous: 'FULL'` where the last session writes must survive a power cut.
 *
 * @see https://www.sqlite.org/pragma.html#pragma_synchronous
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export class SqliteStore implements SessionStore {
  /** The session table. */
  readonly table: string;
  /** The user index table. */
  readonly userTable: string;
  readonly #db: SqliteDatabase;
  readonly #binding = new StoreBinding(STORE);
  readonly #batchSize: number;
  readonly #statements = new Map<string, SqliteStatement>();
  readonly #sql: Readonly<
    Record<
      | 'load'
      | 'create'
      | 'save'
      | 'delete'
      | 'exists'
      | 'clear'
      | 'list'
      | 'file'
      | 'refile'
      | 'unfile'
      | 'unfileUser'
      | 'userSessions'
      | 'candidates'
      | 'clearIndex'
      | 'hasUserTable',
      string
    >
  >;
  readonly #ddl: readonly string[];
  readonly #userIndex = new TablePresence();
  // Made once, on first use: better-sqlite3 builds four wrapper functions per `transaction()`.
  #createFiled?: SqliteTransaction<[SessionRecord, UserIndexEntry, string, string, string], number>;
  #saveFiled?: SqliteTransaction<[string, string, string, UserIndexEntry, string], number>;
  #merged?: SqliteTransaction<[string, SessionMerge, boolean], UpdateOutcome>;
  #deleteFiled?: SqliteTransaction<[string], void>;

  /**
   * @param database - a better-sqlite3 `Database`; the store does not close it
   * @throws ImproperlyConfigured when `table`, `clearBatchSize` or `synchronous` is invalid
   * @throws StoreError when the database cannot be switched to WAL mode
   */
  constructor(database: SqliteDatabase, options: SqliteStoreOptions = {}) {
    const { table, userTable, clearBatchSize } = resolveSqlStoreOptions(options, STORE);
    this.table = table;
    this.userTable = userTable;
    this.#db = database;
    this.#batchSize = clearBatchSize;
    const t = `"${table}"`;
    const u = `"${userTable}"`;
    const userColumns = `${u} (session_key, user_id, created_at, last_activity, expire_date, user_agent) VALUES (?, ?, ?, ?, ?, ?)`;
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
      // Files a saved session: created_at stays while the user does, and restarts with another.
      file: `INSERT INTO ${userColumns} ON CONFLICT (session_key) DO UPDATE SET created_at = CASE WHEN ${u}.user_id = excluded.user_id THEN ${u}.created_at ELSE excluded.created_at END, user_id = excluded.user_id, last_activity = excluded.last_activity, expire_date = excluded.expire_date, user_agent = excluded.user_agent`,
      // Files a created session: a new session, even where an old row of the key was left.
      refile: `INSERT INTO ${userColumns} ON CONFLICT (session_key) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at, last_activity = excluded.last_activity, expire_date = excluded.expire_date, user_agent = excluded.user_agent`,
      unfile: `DELETE FROM ${u} WHERE session_key = ?`,
      unfileUser: `DELETE FROM ${u} WHERE session_key = ? AND user_id = ?`,
      userSessions: `SELECT x.session_key, x.created_at, x.last_activity, x.user_agent, s.session_data, s.expire_date FROM ${u} x JOIN ${t} s ON s.session_key = x.session_key WHERE x.user_id = ? AND s.expire_date > ?`,
      candidates: `SELECT x.session_key, s.session_data FROM ${u} x LEFT JOIN ${t} s ON s.session_key = x.session_key AND s.expire_date > ? WHERE x.user_id = ?`,
      // Index rows past their expiry whose session is gone or expired too; one Django extended
      // since stays.
      clearIndex: `DELETE FROM ${u} WHERE session_key IN (SELECT x.session_key FROM ${u} x WHERE x.expire_date < ? AND NOT EXISTS (SELECT 1 FROM ${t} s WHERE s.session_key = x.session_key AND s.expire_date >= ?) LIMIT ?)`,
      hasUserTable: `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`,
    };
    const index = djangoIndexName(table, ['expire_date']);
    this.#ddl = [
      `CREATE TABLE IF NOT EXISTS ${t} ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "${index}" ON ${t} ("expire_date")`,
      `CREATE TABLE IF NOT EXISTS ${u} ("session_key" varchar(40) NOT NULL PRIMARY KEY, "user_id" varchar(255) NOT NULL, "created_at" datetime NOT NULL, "last_activity" datetime NOT NULL, "expire_date" datetime NOT NULL, "user_agent" varchar(512) NULL)`,
      `CREATE INDEX IF NOT EXISTS "${djangoIndexName(userTable, ['user_id'])}" ON ${u} ("user_id")`,
      `CREATE INDEX IF NOT EXISTS "${djangoIndexName(userTable, ['expire_date'])}" ON ${u} ("expire_date")`,
    ];
    const { synchronous } = options;
    if (synchronous !== undefined && !SYNCHRONOUS.includes(synchronous)) {
      throw new ImproperlyConfigured(
        `keepstate: SqliteStore's \`synchronous\` must be one of ${SYNCHRONOUS.join(', ')} (SQLite's PRAGMA synchronous), got ${String(synchronous)}`,
      );
    }
    const wal = options.wal ?? true;
    if (wal) {
      this.#run('switch the database to WAL mode', () =>
        database.prepare('PRAGMA journal_mode = WAL').get(),
      );
    }
    const level = synchronous ?? (wal ? 'NORMAL' : undefined);
    if (level !== undefined) {
      this.#run(`set PRAGMA synchronous = ${level}`, () =>
        database.prepare(`PRAGMA synchronous = ${level}`).run(),
      );
    }
  }

  /** Takes the manager's codec and clock. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * Creates the table and its `expire_date` index if they are missing, with the exact SQL of
   * Django's `migrate`, and the user index table beside it; safe to run again. A database made
   * before the user index existed gets it on its next `migrate`.
   *
   * @throws StoreError when the database refuses
   */
  async migrate(): Promise<void> {
    this.#run('create its table', () => {
      for (const statement of this.#ddl) this.#db.prepare(statement).run();
    });
    this.#userIndex.record(true);
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
    const entry = this.#filable(userIndexEntry(record));
    const changes = this.#run('create a session', () => {
      if (entry === null) return this.#insert(record.sessionKey, data, expireDate, now);
      this.#createFiled ??= this.#db.transaction(
        (
          record: SessionRecord,
          entry: UserIndexEntry,
          data: string,
          expireDate: string,
          now: string,
        ) => {
          const inserted = this.#insert(record.sessionKey, data, expireDate, now);
          if (inserted > 0) this.#file(this.#sql.refile, record.sessionKey, entry, now, expireDate);
          return inserted;
        },
      );
      return this.#createFiled(record, entry, data, expireDate, now);
    });
    if (changes === 0) {
      throw new CreateError('The session key is taken');
    }
    return record.sessionKey;
  }

  /**
   * Updates the record's data and expiry; no row with the key makes it an {@link UpdateError}.
   * Like Django, an expired row is still updated. A record with a user is filed under it in the
   * same transaction (`lastActivity` now).
   * @throws StoreError when the database fails
   */
  async save(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const expireDate = expireDateText(record.expiresAt);
    const entry = this.#filable(userIndexEntry(record));
    const changes = this.#run('save a session', () => {
      if (entry === null) return this.#write(data, expireDate, record.sessionKey);
      const now = expireDateText(this.#binding.clock());
      this.#saveFiled ??= this.#db.transaction(
        (
          data: string,
          expireDate: string,
          sessionKey: string,
          entry: UserIndexEntry,
          now: string,
        ) => {
          const saved = this.#write(data, expireDate, sessionKey);
          if (saved > 0) this.#file(this.#sql.file, sessionKey, entry, now, expireDate);
          return saved;
        },
      );
      return this.#saveFiled(data, expireDate, record.sessionKey, entry, now);
    });
    if (changes === 0) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
  }

  /**
   * Reads the live record, calls `merge` with its data and writes what it returns, all in one
   * `BEGIN IMMEDIATE` transaction: no other connection, in this process or another, writes in
   * between, so `merge` runs once. A record with a user is filed under it in the same
   * transaction. The row keeps Django's encoding, so Django still reads it.
   *
   * @returns the session key
   * @throws UpdateError when no live record has the key
   * @throws StoreError when the database fails, or stays locked past its busy timeout
   */
  async update(sessionKey: string, merge: SessionMerge): Promise<string> {
    this.#binding.ensureAttached();
    const indexed = this.#hasUserTable();
    const outcome = this.#run('update a session', () => {
      this.#merged ??= this.#db.transaction(this.#merge.bind(this));
      return this.#merged.immediate(sessionKey, merge, indexed);
    });
    if (outcome === 'missing') throw new UpdateError('The session no longer exists');
    if (outcome === 'written') return sessionKey;
    if ('error' in outcome) throw outcome.error;
    this.#filable(outcome); // only to warn, once, that the index table is missing
    return sessionKey;
  }

  /** `update`'s transaction: reads the live row, merges, writes and files it. */
  #merge(sessionKey: string, merge: SessionMerge, indexed: boolean): UpdateOutcome {
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const row = this.#statement(this.#sql.load).get(sessionKey, now) as SessionRow | undefined;
    if (row === undefined) return 'missing';
    let data: string;
    let expireDate: string;
    let entry: UserIndexEntry | null;
    try {
      const record = merge(codec.decode(String(row.session_data)) ?? {});
      data = codec.encode(record.data);
      expireDate = expireDateText(record.expiresAt);
      entry = userIndexEntry(record);
    } catch (error) {
      // Not the database's failure: handed back as it is, once the transaction has ended.
      return { error };
    }
    this.#write(data, expireDate, sessionKey);
    if (entry === null) return 'written';
    if (!indexed) return entry;
    this.#file(this.#sql.file, sessionKey, entry, now, expireDate);
    return 'written';
  }

  /**
   * Deletes the session and its user index row in one transaction.
   * @throws StoreError when the database fails
   */
  async delete(sessionKey: string): Promise<void> {
    const indexed = this.#hasUserTable();
    this.#run('delete a session', () => {
      if (!indexed) {
        this.#statement(this.#sql.delete).run(sessionKey);
        return;
      }
      this.#deleteFiled ??= this.#db.transaction((sessionKey: string) => {
        this.#statement(this.#sql.delete).run(sessionKey);
        this.#statement(this.#sql.unfile).run(sessionKey);
      });
      this.#deleteFiled(sessionKey);
    });
  }

  /**
   * The live sessions filed under `userId` whose data still names that user, in no set order:
   * each with its key's hash, when it was filed under the user, its last write through keepstate
   * and its expiry (the session row's).
   *
   * @throws StoreError when the database fails, or the user index table is missing (run
   *   `migrate`)
   * @throws ImproperlyConfigured when no manager attached the store (the data must be read)
   */
  async listSessions(userId: string): Promise<UserSession[]> {
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const rows = this.#run(
      'list the sessions of a user',
      () => this.#statement(this.#sql.userSessions).all(userId, now) as UserRow[],
    );
    return rows.flatMap((row) => listedSession(codec, userId, row, textTimes(row)));
  }

  /**
   * Deletes every live session filed under `userId` whose data still names that user, but
   * `options.except`, with their user index rows, in one transaction; index rows of the user
   * whose session is gone or no longer the user's go too.
   *
   * @returns how many sessions were deleted
   * @throws StoreError when the database fails, or the user index table is missing
   * @throws ImproperlyConfigured when no manager attached the store (the data must be read)
   */
  async deleteUserSessions(
    userId: string,
    options: DeleteUserSessionsOptions = {},
  ): Promise<number> {
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const except = options.except ?? null;
    return this.#run('delete the sessions of a user', () =>
      this.#db
        .transaction(() => {
          const rows = this.#statement(this.#sql.candidates).all(now, userId) as CandidateRow[];
          const { owned, unfiled } = ownedSessions(codec, userId, rows, except);
          let deleted = 0;
          for (const sessionKey of owned) {
            deleted += Number(this.#statement(this.#sql.delete).run(sessionKey).changes);
          }
          for (const sessionKey of unfiled) {
            this.#statement(this.#sql.unfileUser).run(sessionKey, userId);
          }
          return deleted;
        })
        .immediate(),
    );
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
   * `clearBatchSize` per statement, yielding to other work between statements; then, the same
   * way, the user index rows past their expiry whose session is gone or expired (none where the
   * user index table is missing).
   *
   * @returns how many sessions were deleted (index rows are not counted)
   * @throws StoreError when the database fails
   */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = expireDateText(this.#binding.clock());
    const deleted = await clearInBatches(
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
    if (this.#hasUserTable()) {
      await clearInBatches(
        () =>
          Number(
            this.#run(
              'clear its user index',
              () => this.#statement(this.#sql.clearIndex).run(now, now, this.#batchSize).changes,
            ),
          ),
        this.#batchSize,
      );
    }
    return deleted;
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

  /** Inserts a session row, or takes over an expired one: the rows changed, 0 when the key is live. */
  #insert(sessionKey: string, data: string, expireDate: string, now: string): number {
    try {
      return Number(
        this.#statement(this.#sql.create).run(sessionKey, data, expireDate, now).changes,
      );
    } catch (error) {
      if (isUniqueViolation(error)) return 0;
      throw error;
    }
  }

  /** Updates a session row: the rows matched, 0 when the key is gone. */
  #write(data: string, expireDate: string, sessionKey: string): number {
    // SQLite counts the rows an UPDATE matched, changed or not.
    return Number(this.#statement(this.#sql.save).run(data, expireDate, sessionKey).changes);
  }

  /** Writes `entry` for the key with one of the `file`/`refile` upserts. */
  #file(
    sql: string,
    sessionKey: string,
    entry: UserIndexEntry,
    now: string,
    expireDate: string,
  ): void {
    this.#statement(sql).run(sessionKey, entry.userId, now, now, expireDate, entry.userAgent);
  }

  /**
   * `entry` when it can be filed; `null` when there is none or the user index table is missing,
   * which is warned about once: the session is saved, but not filed under its user.
   */
  #filable(entry: UserIndexEntry | null): UserIndexEntry | null {
    if (entry === null || this.#hasUserTable()) return entry;
    if (this.#userIndex.firstMiss()) {
      this.#binding.context.logger.warn(
        `${STORE}: the user index table "${this.userTable}" is missing, so sessions are not filed under their users (run migrate() or \`keepstate migrate\`)`,
      );
    }
    return null;
  }

  #hasUserTable(): boolean {
    if (this.#userIndex.stale) {
      const row = this.#run('look for its user index table', () =>
        this.#statement(this.#sql.hasUserTable).get(this.userTable),
      );
      this.#userIndex.record(row !== undefined);
    }
    return this.#userIndex.present;
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
          ? `create the tables "${this.table}" and "${this.userTable}" with migrate() or \`keepstate migrate\``
          : undefined,
      );
    }
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
