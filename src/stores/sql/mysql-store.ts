import { driverFailure } from '../../core/driver-failure.js';
import { CreateError, type StoreError, UpdateError } from '../../core/errors.js';
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
 * What {@link MysqlStore} needs of its client: a mysql2/promise `Pool` (or a `Connection`), whose
 * `execute` sends each statement with server-side bound parameters. Structural, so this module
 * never loads the driver.
 *
 * @see https://sidorares.github.io/node-mysql2/docs/documentation/prepared-statements
 */
export interface MysqlPool {
  /** Every value the store binds is a string: keys, encoded data and naive UTC date text. */
  execute(sql: string, values: string[]): Promise<[unknown, unknown]>;
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

const STORE = 'MysqlStore';
/** MySQL's and MariaDB's longest identifier, and Django's `max_name_length` there. */
const MAX_NAME_LENGTH = 64;
const ROWS_MATCHED = /Rows matched: (\d+)/;

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
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export class MysqlStore implements SessionStore {
  /** The session table. */
  readonly table: string;
  readonly #pool: MysqlPool;
  readonly #binding = new StoreBinding(STORE);
  readonly #batchSize: number;
  readonly #sql: Readonly<
    Record<'load' | 'insert' | 'reclaim' | 'save' | 'delete' | 'exists' | 'clear' | 'list', string>
  >;
  readonly #ddl: readonly [table: string, index: string];

  /**
   * @param pool - a mysql2/promise `Pool`; the store does not end it
   * @throws ImproperlyConfigured when `table` or `clearBatchSize` is invalid
   */
  constructor(pool: MysqlPool, options: MysqlStoreOptions = {}) {
    const { table, clearBatchSize } = resolveSqlStoreOptions(options, STORE, MAX_NAME_LENGTH);
    this.table = table;
    this.#pool = pool;
    this.#batchSize = clearBatchSize;
    const t = `\`${table}\``;
    this.#sql = {
      load: `SELECT session_data, DATE_FORMAT(expire_date, '%Y-%m-%d %H:%i:%s.%f') AS expire_date FROM ${t} WHERE session_key = ? AND expire_date > ?`,
      insert: `INSERT INTO ${t} (session_key, session_data, expire_date) VALUES (?, ?, ?)`,
      reclaim: `DELETE FROM ${t} WHERE session_key = ? AND expire_date <= ?`,
      save: `UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ?`,
      delete: `DELETE FROM ${t} WHERE session_key = ?`,
      exists: `SELECT 1 FROM ${t} WHERE session_key = ? AND expire_date > ?`,
      // The batch size is a checked integer; MySQL 8 refuses a bound LIMIT from mysql2's execute.
      // Ordering on a unique pair keeps the statement safe for statement-based replication.
      clear: `DELETE FROM ${t} WHERE expire_date < ? ORDER BY expire_date, session_key LIMIT ${clearBatchSize}`,
      // The limit is appended by list(), which checks it is an integer.
      list: `SELECT session_key, session_data, DATE_FORMAT(expire_date, '%Y-%m-%d %H:%i:%s.%f') AS expire_date FROM ${t} WHERE expire_date > ? ORDER BY expire_date DESC LIMIT `,
    };
    const index = djangoIndexName(table, ['expire_date'], MAX_NAME_LENGTH);
    this.#ddl = [
      `CREATE TABLE IF NOT EXISTS ${t} (\`session_key\` varchar(40) NOT NULL PRIMARY KEY, \`session_data\` longtext NOT NULL, \`expire_date\` datetime(6) NOT NULL)`,
      // MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has): a duplicate name is caught below.
      `CREATE INDEX \`${index}\` ON ${t} (\`expire_date\`)`,
    ];
  }

  /** Takes the manager's codec and clock. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * Creates the table and its `expire_date` index if they are missing, with the SQL of Django's
   * `migrate`; safe to run again.
   *
   * @throws StoreError when the server fails or refuses
   */
  async migrate(): Promise<void> {
    const [table, index] = this.#ddl;
    await this.#execute('create its table', table, []);
    try {
      await this.#pool.execute(index, []);
    } catch (error) {
      if (codeOf(error) !== 'ER_DUP_KEYNAME') throw this.#failure('create its index', error);
    }
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
    return { sessionKey, data: codec.decode(String(row.session_data)) ?? {}, expiresAt };
  }

  /**
   * Inserts the record; a live record with the key makes it a {@link CreateError}.
   * @throws StoreError when the server fails
   */
  async create(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const values = [record.sessionKey, data, expireDateText(record.expiresAt)];
    if (await this.#insert(values)) return record.sessionKey;
    // The key is taken. An expired row is taken over, as load would not return it anyway: the
    // DELETE only matches it while it is expired, so a live row is never lost.
    const now = expireDateText(this.#binding.clock());
    const reclaimed = await this.#execute('create a session', this.#sql.reclaim, [
      record.sessionKey,
      now,
    ]);
    if ((reclaimed as ResultHeader).affectedRows === 1 && (await this.#insert(values))) {
      return record.sessionKey;
    }
    throw new CreateError('The session key is taken');
  }

  /**
   * Updates the record's data and expiry; no row with the key makes it an {@link UpdateError}.
   * Like Django, an expired row is still updated.
   * @throws StoreError when the server fails
   */
  async save(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const result = await this.#execute('save a session', this.#sql.save, [
      data,
      expireDateText(record.expiresAt),
      record.sessionKey,
    ]);
    if (matchedRows(result as ResultHeader) === 0) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
  }

  /** @throws StoreError when the server fails */
  async delete(sessionKey: string): Promise<void> {
    await this.#execute('delete a session', this.#sql.delete, [sessionKey]);
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
   * `clearBatchSize` per statement, each statement its own transaction.
   *
   * @returns how many rows were deleted
   * @throws StoreError when the server fails
   */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = expireDateText(this.#binding.clock());
    return clearInBatches(
      async () => {
        const result = await this.#execute('clear expired sessions', this.#sql.clear, [now]);
        return (result as ResultHeader).affectedRows ?? 0;
      },
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

  async #execute(action: string, sql: string, values: string[]): Promise<unknown> {
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
        ? `create the table \`${this.table}\` with migrate() or \`keepstate migrate\``
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

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
