import { driverFailure } from '../../core/driver-failure.js';
import { CreateError, type StoreError, UpdateError } from '../../core/errors.js';
import type {
  ClearExpiredOptions,
  DeleteUserSessionsOptions,
  LoadedVersion,
  SessionData,
  SessionMerge,
  SessionRecord,
  SessionStore,
  StoreContext,
  UserSession,
} from '../../core/session-store.js';
import { StoreBinding } from '../../core/store-binding.js';
import { clearInBatches } from './clear-in-batches.js';
import { compareAndSet } from './compare-and-set.js';
import { djangoIndexName } from './django-index-name.js';
import { expireDateText, parseExpireDateText } from './expire-date-text.js';
import { listedSession, ownedSessions, textTimes } from './owned-by.js';
import { resolveSqlStoreOptions, type SqlStoreOptions } from './sql-store-options.js';
import { TablePresence } from './table-presence.js';
import { type UserIndexEntry, userIndexEntry } from './user-index-entry.js';

/**
 * What {@link MysqlStore} needs of its client: a mysql2/promise `Pool` (or a `Connection`), whose
 * `execute` sends each statement with server-side bound parameters. Structural, so this module
 * never loads the driver.
 *
 * @see https://sidorares.github.io/node-mysql2/docs/documentation/prepared-statements
 */
export interface MysqlPool {
  /**
   * Every value the store binds is a string (keys, encoded data, naive UTC date text, user ids),
   * or `null` for a missing user agent.
   */
  execute(sql: string, values: (string | null)[]): Promise<[unknown, unknown]>;
}

/** What {@link MysqlStore} reads of the result of an `INSERT`, `UPDATE` or `DELETE`. */
interface ResultHeader {
  readonly affectedRows?: number;
  readonly info?: string;
}

/** Options of a {@link MysqlStore}. */
export type MysqlStoreOptions = SqlStoreOptions;

interface SessionRow {
  readonly session_data: unknown;
  readonly expire_date: unknown;
}

interface ListedRow extends SessionRow {
  readonly session_key: unknown;
}

interface UserRow extends ListedRow {
  readonly created_at: unknown;
  readonly last_activity: unknown;
  readonly user_agent: unknown;
}

const STORE = 'MysqlStore';
/** MySQL's and MariaDB's longest identifier, and Django's `max_name_length` there. */
const MAX_NAME_LENGTH = 64;
const ROWS_MATCHED = /Rows matched: (\d+)/;
/** Keys per `IN (…)` list of `deleteUserSessions`, well under the 65,535 placeholders allowed. */
const KEYS_PER_STATEMENT = 500;
/** How `expire_date` and the index's instants are read back: naive UTC with microseconds. */
const DATE_FORMAT = `'%Y-%m-%d %H:%i:%s.%f'`;

/**
 * Keeps sessions in MySQL or MariaDB, in the `django_session` table exactly as Django's `db`
 * engine and `migrate` lay it out (`session_data longtext`, `expire_date datetime(6)` holding
 * naive UTC), so a Django app on the same database shares the sessions. `session_data` is
 * Django's encoding with the manager's secret.
 *
 * Instants travel as naive UTC text both ways, so neither the pool's `timezone` and
 * `dateStrings` options nor the session's `time_zone` change anything. Timeouts are the pool's
 * (`connectTimeout`). The store never ends the pool.
 *
 * `update` is an optimistic compare-and-set on the stored text (`UPDATE … WHERE session_data =
 * <what was read>`, compared as bytes, whatever the column's collation), read again and retried
 * on a conflict; it needs no transaction, so a pool is enough.
 *
 * Sessions with a user (`SessionRecord.userId`) are also filed in a user index table of
 * keepstate's own (`userTable`, default `django_session_keepstate_user`: `session_key`,
 * `user_id`, `created_at`, `last_activity`, `expire_date`, `user_agent`); `migrate` makes it.
 * A pool offers no transaction across statements, so a write with a user takes a second
 * statement, sent after the session row is written; anonymous writes never touch the index.
 * The index is a lookup aid, and the session row stays the truth: `listSessions` and
 * `deleteUserSessions` keep only live sessions whose data still names the user, so an index row
 * left behind by an anonymous write, by Django, or by a failure between the two statements is
 * never listed, and is removed by `deleteUserSessions` or, once stale, by `clearExpired`. Where
 * the index table is missing (a database only Django migrated), sessions are saved unfiled with
 * one warning to run `keepstate migrate`, and `listSessions` fails saying so.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export class MysqlStore implements SessionStore {
  /** The session table. */
  readonly table: string;
  /** The user index table. */
  readonly userTable: string;
  readonly #pool: MysqlPool;
  readonly #binding = new StoreBinding(STORE);
  readonly #batchSize: number;
  readonly #sql: Readonly<
    Record<
      | 'load'
      | 'insert'
      | 'reclaim'
      | 'save'
      | 'swap'
      | 'delete'
      | 'deleteFiled'
      | 'exists'
      | 'clear'
      | 'list'
      | 'file'
      | 'refile'
      | 'userSessions'
      | 'candidates'
      | 'clearIndex'
      | 'hasUserTable',
      string
    >
  >;
  readonly #ddl: readonly [table: string, index: string, userTable: string];
  readonly #userIndex = new TablePresence();

  /**
   * @param pool - a mysql2/promise `Pool`; the store does not end it
   * @throws ImproperlyConfigured when `table` or `clearBatchSize` is invalid
   */
  constructor(pool: MysqlPool, options: MysqlStoreOptions = {}) {
    const { table, userTable, clearBatchSize } = resolveSqlStoreOptions(
      options,
      STORE,
      MAX_NAME_LENGTH,
    );
    this.table = table;
    this.userTable = userTable;
    this.#pool = pool;
    this.#batchSize = clearBatchSize;
    const t = `\`${table}\``;
    const u = `\`${userTable}\``;
    const insertEntry = `INSERT INTO ${u} (session_key, user_id, created_at, last_activity, expire_date, user_agent) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE`;
    // MySQL assigns left to right, each seeing the ones before: created_at goes before user_id.
    const refresh =
      'user_id = VALUES(user_id), last_activity = VALUES(last_activity), expire_date = VALUES(expire_date), user_agent = VALUES(user_agent)';
    this.#sql = {
      load: `SELECT session_data, DATE_FORMAT(expire_date, '%Y-%m-%d %H:%i:%s.%f') AS expire_date FROM ${t} WHERE session_key = ? AND expire_date > ?`,
      insert: `INSERT INTO ${t} (session_key, session_data, expire_date) VALUES (?, ?, ?)`,
      reclaim: `DELETE FROM ${t} WHERE session_key = ? AND expire_date <= ?`,
      save: `UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ?`,
      // Bytes, not the column's collation: a case-insensitive one would take another text for
      // the one read.
      swap: `UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ? AND CAST(session_data AS BINARY) = CAST(? AS BINARY)`,
      delete: `DELETE FROM ${t} WHERE session_key = ?`,
      deleteFiled: `DELETE s, x FROM ${t} AS s LEFT JOIN ${u} AS x ON x.session_key = s.session_key WHERE s.session_key = ?`,
      exists: `SELECT 1 FROM ${t} WHERE session_key = ? AND expire_date > ?`,
      // The batch size is a checked integer; MySQL 8 refuses a bound LIMIT from mysql2's execute.
      // Ordering on a unique pair keeps the statement safe for statement-based replication.
      clear: `DELETE FROM ${t} WHERE expire_date < ? ORDER BY expire_date, session_key LIMIT ${clearBatchSize}`,
      // The limit is appended by list(), which checks it is an integer.
      list: `SELECT session_key, session_data, DATE_FORMAT(expire_date, '%Y-%m-%d %H:%i:%s.%f') AS expire_date FROM ${t} WHERE expire_date > ? ORDER BY expire_date DESC LIMIT `,
      // A save keeps created_at while the user stays (compared as bytes); a create starts it.
      file: `${insertEntry} created_at = IF(CAST(user_id AS BINARY) = CAST(VALUES(user_id) AS BINARY), created_at, VALUES(created_at)), ${refresh}`,
      refile: `${insertEntry} created_at = VALUES(created_at), ${refresh}`,
      userSessions: `SELECT x.session_key, DATE_FORMAT(x.created_at, ${DATE_FORMAT}) AS created_at, DATE_FORMAT(x.last_activity, ${DATE_FORMAT}) AS last_activity, x.user_agent, s.session_data, DATE_FORMAT(s.expire_date, ${DATE_FORMAT}) AS expire_date FROM ${u} AS x JOIN ${t} AS s ON s.session_key = x.session_key WHERE x.user_id = ? AND s.expire_date > ?`,
      candidates: `SELECT x.session_key, s.session_data FROM ${u} AS x LEFT JOIN ${t} AS s ON s.session_key = x.session_key AND s.expire_date > ? WHERE x.user_id = ?`,
      // Index rows past their expiry whose session is gone or expired too; one Django extended
      // since stays.
      clearIndex: `DELETE FROM ${u} WHERE expire_date < ? AND NOT EXISTS (SELECT 1 FROM ${t} AS s WHERE s.session_key = ${u}.session_key AND s.expire_date >= ?) ORDER BY expire_date, session_key LIMIT ${clearBatchSize}`,
      hasUserTable:
        'SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
    };
    const index = djangoIndexName(table, ['expire_date'], MAX_NAME_LENGTH);
    const userIndex = (column: string) =>
      `KEY \`${djangoIndexName(userTable, [column], MAX_NAME_LENGTH)}\` (\`${column}\`)`;
    this.#ddl = [
      `CREATE TABLE IF NOT EXISTS ${t} (\`session_key\` varchar(40) NOT NULL PRIMARY KEY, \`session_data\` longtext NOT NULL, \`expire_date\` datetime(6) NOT NULL)`,
      // MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has): a duplicate name is caught below.
      `CREATE INDEX \`${index}\` ON ${t} (\`expire_date\`)`,
      // No foreign key to the session table: Django's `flush` truncates that table, and a key
      // needs both columns in one collation, which Django's table may not share. session_key
      // keeps the database's character set, as Django's does, so joins on it use the index;
      // user ids and user agents are any text.
      `CREATE TABLE IF NOT EXISTS ${u} (\`session_key\` varchar(40) NOT NULL PRIMARY KEY, \`user_id\` varchar(255) CHARACTER SET utf8mb4 NOT NULL, \`created_at\` datetime(6) NOT NULL, \`last_activity\` datetime(6) NOT NULL, \`expire_date\` datetime(6) NOT NULL, \`user_agent\` varchar(512) CHARACTER SET utf8mb4 NULL, ${userIndex('user_id')}, ${userIndex('expire_date')})`,
    ];
  }

  /** Takes the manager's codec and clock. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * Creates the table and its `expire_date` index if they are missing, with the SQL of Django's
   * `migrate`, and the user index table beside it; safe to run again. A database made before
   * the user index existed gets it on its next `migrate`.
   *
   * @throws StoreError when the server fails or refuses
   */
  async migrate(): Promise<void> {
    const [table, index, userTable] = this.#ddl;
    await this.#execute('create its table', table, []);
    try {
      await this.#pool.execute(index, []);
    } catch (error) {
      if (codeOf(error) !== 'ER_DUP_KEYNAME') throw this.#failure('create its index', error);
    }
    await this.#execute('create its user index table', userTable, []);
    this.#userIndex.record(true);
  }

  /**
   * The record under `sessionKey` when its `expire_date` is after now. Data that does not decode
   * (another secret, tampering) gives the record with empty data, as Django keeps the key.
   *
   * @throws StoreError when the server fails
   */
  async load(sessionKey: string): Promise<SessionRecord | null> {
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const rows = await this.#execute('load a session', this.#sql.load, [sessionKey, now]);
    const row = (rows as readonly SessionRow[])[0];
    if (row === undefined) return null;
    const expiresAt = parseExpireDateText(String(row.expire_date));
    if (expiresAt === null) return null;
    const version = String(row.session_data);
    return { sessionKey, data: codec.decode(version) ?? {}, expiresAt, version };
  }

  /**
   * Inserts the record; a live record with the key makes it a {@link CreateError}.
   * @throws StoreError when the server fails
   */
  async create(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const expireDate = expireDateText(record.expiresAt);
    const values = [record.sessionKey, data, expireDate];
    const entry = await this.#filable(userIndexEntry(record));
    const now = expireDateText(this.#binding.clock());
    let created = await this.#insert(values);
    if (!created) {
      // The key is taken. An expired row is taken over, as load would not return it anyway: the
      // DELETE only matches it while it is expired, so a live row is never lost.
      const reclaimed = await this.#execute('create a session', this.#sql.reclaim, [
        record.sessionKey,
        now,
      ]);
      created = (reclaimed as ResultHeader).affectedRows === 1 && (await this.#insert(values));
    }
    if (!created) throw new CreateError('The session key is taken');
    if (entry !== null) {
      await this.#file(this.#sql.refile, record.sessionKey, entry, now, expireDate);
    }
    return record.sessionKey;
  }

  /**
   * Updates the record's data and expiry; no row with the key makes it an {@link UpdateError}.
   * Like Django, an expired row is still updated. A record with a user is then filed under it
   * (`lastActivity` now).
   * @throws StoreError when the server fails
   */
  async save(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const expireDate = expireDateText(record.expiresAt);
    const entry = await this.#filable(userIndexEntry(record));
    const result = await this.#execute('save a session', this.#sql.save, [
      data,
      expireDate,
      record.sessionKey,
    ]);
    if (matchedRows(result as ResultHeader) === 0) {
      throw new UpdateError('The session no longer exists');
    }
    if (entry !== null) {
      const now = expireDateText(this.#binding.clock());
      await this.#file(this.#sql.file, record.sessionKey, entry, now, expireDate);
    }
    return record.sessionKey;
  }

  /**
   * Reads the live record, calls `merge` with its data and writes what it returns only if the
   * stored text is still the one read (a compare-and-set); otherwise reads again and retries,
   * so `merge` may run more than once. A record with a user is then filed under it. The row
   * keeps Django's encoding, so Django still reads it.
   *
   * @returns the session key
   * @throws UpdateError when no live record has the key
   * @throws StoreError when the server fails, or other writes to the session won 50 times in a
   *   row
   */
  async update(sessionKey: string, merge: SessionMerge, loaded?: LoadedVersion): Promise<string> {
    const codec = this.#binding.codec;
    // What the request loaded is the first guess: unchanged since, the UPDATE lands at once.
    let known = loaded;
    await compareAndSet(STORE, async () => {
      const now = expireDateText(this.#binding.clock());
      let read: string;
      let latest: SessionData;
      if (known !== undefined) {
        ({ version: read, data: latest } = known);
        known = undefined;
      } else {
        const rows = await this.#execute('update a session', this.#sql.load, [sessionKey, now]);
        const row = (rows as readonly SessionRow[])[0];
        if (row === undefined) throw new UpdateError('The session no longer exists');
        read = String(row.session_data);
        latest = codec.decode(read) ?? {};
      }
      const record = merge(latest);
      const data = codec.encode(record.data);
      const expireDate = expireDateText(record.expiresAt);
      const entry = await this.#filable(userIndexEntry(record));
      const result = await this.#execute('update a session', this.#sql.swap, [
        data,
        expireDate,
        sessionKey,
        read,
      ]);
      if (matchedRows(result as ResultHeader) === 0) return false;
      if (entry !== null) await this.#file(this.#sql.file, sessionKey, entry, now, expireDate);
      return true;
    });
    return sessionKey;
  }

  /**
   * Deletes the session and its user index row, in one statement.
   * @throws StoreError when the server fails
   */
  async delete(sessionKey: string): Promise<void> {
    const sql = (await this.#hasUserTable()) ? this.#sql.deleteFiled : this.#sql.delete;
    await this.#execute('delete a session', sql, [sessionKey]);
  }

  /**
   * The live sessions filed under `userId` whose data still names that user, in no set order:
   * each with its key's hash, when it was filed under the user, its last write through keepstate
   * and its expiry (the session row's).
   *
   * @throws StoreError when the server fails, or the user index table is missing (run
   *   `migrate`)
   * @throws ImproperlyConfigured when no manager attached the store (the data must be read)
   */
  async listSessions(userId: string): Promise<UserSession[]> {
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const rows = await this.#execute('list the sessions of a user', this.#sql.userSessions, [
      userId,
      now,
    ]);
    return (rows as readonly UserRow[]).flatMap((row) =>
      listedSession(codec, userId, row, textTimes(row)),
    );
  }

  /**
   * Deletes every live session filed under `userId` whose data still names that user, but
   * `options.except`, then their user index rows; index rows of the user whose session is gone
   * or no longer the user's go too. Up to 500 keys per statement; a pool offers no transaction,
   * so an index row may outlive its session if the second statement fails, never the reverse.
   *
   * @returns how many sessions were deleted
   * @throws StoreError when the server fails, or the user index table is missing
   * @throws ImproperlyConfigured when no manager attached the store (the data must be read)
   */
  async deleteUserSessions(
    userId: string,
    options: DeleteUserSessionsOptions = {},
  ): Promise<number> {
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    const action = 'delete the sessions of a user';
    const rows = await this.#execute(action, this.#sql.candidates, [now, userId]);
    const { owned, unfiled } = ownedSessions(
      codec,
      userId,
      rows as readonly ListedRow[],
      options.except,
    );
    let deleted = 0;
    for (const keys of chunks(owned)) {
      const sql = `DELETE FROM \`${this.table}\` WHERE session_key IN (${placeholders(keys)})`;
      deleted += ((await this.#execute(action, sql, keys)) as ResultHeader).affectedRows ?? 0;
    }
    for (const keys of chunks(unfiled)) {
      const sql = `DELETE FROM \`${this.userTable}\` WHERE user_id = ? AND session_key IN (${placeholders(keys)})`;
      await this.#execute(action, sql, [userId, ...keys]);
    }
    return deleted;
  }

  /**
   * Whether a row with the key has an `expire_date` after now. (Django's `exists` ignores
   * `expire_date`; keepstate's contract asks for live records.)
   * @throws StoreError when the server fails
   */
  async exists(sessionKey: string): Promise<boolean> {
    const now = expireDateText(this.#binding.clock());
    const rows = await this.#execute('check a session', this.#sql.exists, [sessionKey, now]);
    return (rows as readonly unknown[]).length > 0;
  }

  /**
   * Deletes the rows whose `expire_date` is before now (Django's `clear_expired`), at most
   * `clearBatchSize` per statement, each statement its own transaction; then, the same way, the
   * user index rows past their expiry whose session is gone or expired (none where the user
   * index table is missing).
   *
   * @returns how many sessions were deleted (index rows are not counted)
   * @throws StoreError when the server fails
   */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = expireDateText(this.#binding.clock());
    const deleted = await clearInBatches(
      async () => {
        const result = await this.#execute('clear expired sessions', this.#sql.clear, [now]);
        return (result as ResultHeader).affectedRows ?? 0;
      },
      this.#batchSize,
      options,
    );
    if (await this.#hasUserTable()) {
      await clearInBatches(async () => {
        const result = await this.#execute('clear its user index', this.#sql.clearIndex, [
          now,
          now,
        ]);
        return (result as ResultHeader).affectedRows ?? 0;
      }, this.#batchSize);
    }
    return deleted;
  }

  /**
   * Up to `limit` live records, those that expire last first (for an admin page). Data that does
   * not decode lists as `{}`, as `load` gives it; a row whose `expire_date` Django could not read
   * is left out.
   *
   * @throws RangeError when `limit` is not a non-negative integer
   * @throws StoreError when the server fails
   */
  async list(limit: number): Promise<SessionRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`${STORE}: list() takes a non-negative integer, got ${limit}`);
    }
    const codec = this.#binding.codec;
    const now = expireDateText(this.#binding.clock());
    // Written into the SQL, as MySQL 8 refuses a bound LIMIT from execute; checked above.
    const rows = await this.#execute('list sessions', `${this.#sql.list}${limit}`, [now]);
    return (rows as readonly ListedRow[]).flatMap((row) => {
      const expiresAt = parseExpireDateText(String(row.expire_date));
      if (expiresAt === null) return [];
      const data = codec.decode(String(row.session_data)) ?? {};
      return [{ sessionKey: String(row.session_key), data, expiresAt }];
    });
  }

  /** Writes `entry` for the key with one of the `file`/`refile` upserts. */
  async #file(
    sql: string,
    sessionKey: string,
    entry: UserIndexEntry,
    now: string,
    expireDate: string,
  ): Promise<void> {
    await this.#execute('file a session under its user', sql, [
      sessionKey,
      entry.userId,
      now,
      now,
      expireDate,
      entry.userAgent,
    ]);
  }

  /**
   * `entry` when it can be filed; `null` when there is none or the user index table is missing,
   * which is warned about once: the session is saved, but not filed under its user.
   */
  async #filable(entry: UserIndexEntry | null): Promise<UserIndexEntry | null> {
    if (entry === null || (await this.#hasUserTable())) return entry;
    if (this.#userIndex.firstMiss()) {
      this.#binding.context.logger.warn(
        `${STORE}: the user index table \`${this.userTable}\` is missing, so sessions are not filed under their users (run migrate() or \`keepstate migrate\`)`,
      );
    }
    return null;
  }

  async #hasUserTable(): Promise<boolean> {
    if (this.#userIndex.stale) {
      const rows = await this.#execute('look for its user index table', this.#sql.hasUserTable, [
        this.userTable,
      ]);
      this.#userIndex.record((rows as readonly unknown[]).length > 0);
    }
    return this.#userIndex.present;
  }

  /** Inserts a row; `false` when its key is taken. */
  async #insert(values: string[]): Promise<boolean> {
    try {
      await this.#pool.execute(this.#sql.insert, values);
      return true;
    } catch (error) {
      if (codeOf(error) === 'ER_DUP_ENTRY') return false;
      throw this.#failure('create a session', error);
    }
  }

  async #execute(action: string, sql: string, values: (string | null)[]): Promise<unknown> {
    try {
      const [result] = await this.#pool.execute(sql, values);
      return result;
    } catch (error) {
      throw this.#failure(action, error);
    }
  }

  #failure(action: string, error: unknown): StoreError {
    const hint =
      codeOf(error) === 'ER_NO_SUCH_TABLE'
        ? `create the tables \`${this.table}\` and \`${this.userTable}\` with migrate() or \`keepstate migrate\``
        : undefined;
    return driverFailure(STORE, action, error, hint);
  }
}

/**
 * The rows an UPDATE matched. MySQL's affected-rows count is the rows it *changed* unless the
 * client connected with `CLIENT_FOUND_ROWS` (mysql2 does by default; Django sets it too), and
 * saving a session twice in the same millisecond changes nothing. The server's info message
 * ("Rows matched: 1  Changed: 0  Warnings: 0") holds the matched count whatever the flags, so
 * it is read first.
 */
function matchedRows(result: ResultHeader): number {
  const matched = ROWS_MATCHED.exec(result.info ?? '');
  return matched ? Number(matched[1]) : (result.affectedRows ?? 0);
}

function* chunks(keys: readonly string[]): Generator<string[]> {
  for (let start = 0; start < keys.length; start += KEYS_PER_STATEMENT) {
    yield keys.slice(start, start + KEYS_PER_STATEMENT);
  }
}

function placeholders(keys: readonly unknown[]): string {
  return keys.map(() => '?').join(', ');
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
