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
import { resolveSqlStoreOptions, type SqlStoreOptions } from './sql-store-options.js';

/**
 * What {@link PostgresStore} needs of its client: a `pg.Pool`, or anything else with pg's
 * `query(text, values)`. Structural, so this module never loads the driver. A pool is the right
 * thing to pass: each statement is then its own transaction.
 *
 * @see https://node-postgres.com/apis/pool
 */
export interface PostgresClient {
  query(text: string, values: unknown[]): Promise<PostgresResult>;
}

/** What {@link PostgresStore} reads of a query's result. */
export interface PostgresResult {
  readonly rows: readonly unknown[];
  readonly rowCount: number | null;
}

/** Options of a {@link PostgresStore}. */
export type PostgresStoreOptions = SqlStoreOptions;

interface SessionRow {
  readonly session_data: unknown;
  readonly expires_at: unknown;
}

interface ListedRow extends SessionRow {
  readonly session_key: unknown;
}

const STORE = 'PostgresStore';
/** PostgreSQL's `NAMEDATALEN - 1`, and Django's `max_name_length` there. */
const MAX_NAME_LENGTH = 63;
const UNIQUE_VIOLATION = '23505';
const UNDEFINED_TABLE = '42P01';
const DUPLICATE_TABLE = '42P07';

/**
 * Keeps sessions in PostgreSQL, in the `django_session` table exactly as Django's `db` engine and
 * `migrate` lay it out (`expire_date timestamp with time zone`), so a Django app on the same
 * database shares the sessions. `session_data` is Django's encoding with the manager's secret.
 *
 * Instants are sent as ISO 8601 text in UTC and read back as epoch milliseconds, so the pool's
 * type parsers and the session's `TimeZone` change nothing. Timeouts are the pool's
 * (`connectionTimeoutMillis`, `statement_timeout`). The store never ends the pool.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export class PostgresStore implements SessionStore {
  /** The session table. */
  readonly table: string;
  readonly #client: PostgresClient;
  readonly #binding = new StoreBinding(STORE);
  readonly #batchSize: number;
  readonly #sql: Readonly<
    Record<'load' | 'create' | 'save' | 'delete' | 'exists' | 'clear' | 'list', string>
  >;
  readonly #ddl: readonly string[];

  /**
   * @param client - a `pg.Pool` (or anything with its `query(text, values)`); the store does not
   *   end it
   * @throws ImproperlyConfigured when `table` or `clearBatchSize` is invalid
   */
  constructor(client: PostgresClient, options: PostgresStoreOptions = {}) {
    const { table, clearBatchSize } = resolveSqlStoreOptions(options, STORE, MAX_NAME_LENGTH);
    this.table = table;
    this.#client = client;
    this.#batchSize = clearBatchSize;
    const t = `"${table}"`;
    this.#sql = {
      load: `SELECT session_data, floor(extract(epoch FROM expire_date) * 1000)::bigint AS expires_at FROM ${t} WHERE session_key = $1 AND expire_date > $2`,
      // Insert-if-absent in one statement (no unique violation, so no aborted transaction); a
      // row that is there but expired is taken over, as load would not return it anyway.
      create: `INSERT INTO ${t} (session_key, session_data, expire_date) VALUES ($1, $2, $3) ON CONFLICT (session_key) DO UPDATE SET session_data = EXCLUDED.session_data, expire_date = EXCLUDED.expire_date WHERE ${t}.expire_date <= $4`,
      save: `UPDATE ${t} SET session_data = $2, expire_date = $3 WHERE session_key = $1`,
      delete: `DELETE FROM ${t} WHERE session_key = $1`,
      exists: `SELECT 1 FROM ${t} WHERE session_key = $1 AND expire_date > $2`,
      clear: `DELETE FROM ${t} WHERE session_key IN (SELECT session_key FROM ${t} WHERE expire_date < $1 LIMIT $2)`,
      list: `SELECT session_key, session_data, floor(extract(epoch FROM expire_date) * 1000)::bigint AS expires_at FROM ${t} WHERE expire_date > $1 ORDER BY expire_date DESC LIMIT $2`,
    };
    const index = djangoIndexName(table, ['expire_date'], MAX_NAME_LENGTH);
    const like = djangoIndexName(table, ['session_key'], MAX_NAME_LENGTH, '_like');
    this.#ddl = [
      `CREATE TABLE IF NOT EXISTS ${t} ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "${index}" ON ${t} ("expire_date")`,
      // Django adds this pattern-ops index to every indexed varchar column on PostgreSQL.
      `CREATE INDEX IF NOT EXISTS "${like}" ON ${t} ("session_key" varchar_pattern_ops)`,
    ];
  }

  /** Takes the manager's codec and clock. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * Creates the table and its indexes if they are missing, with the SQL of Django's `migrate`
   * (including the `_like` index Django adds on PostgreSQL); safe to run again, also from two
   * processes at once.
   *
   * @throws StoreError when the server fails or refuses
   */
  async migrate(): Promise<void> {
    for (const statement of this.#ddl) {
      try {
        await this.#client.query(statement, []);
      } catch (error) {
        // Two concurrent `IF NOT EXISTS` can still collide in the catalog; the other one won.
        const code = codeOf(error);
        if (code === UNIQUE_VIOLATION || code === DUPLICATE_TABLE) continue;
        throw this.#failure('create its table', error);
      }
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
    const now = this.#binding.clock().toISOString();
    const result = await this.#query('load a session', this.#sql.load, [sessionKey, now]);
    const row = result.rows[0] as SessionRow | undefined;
    if (row === undefined) return null;
    return {
      sessionKey,
      data: codec.decode(String(row.session_data)) ?? {},
      expiresAt: new Date(Number(row.expires_at)),
    };
  }

  /**
   * Inserts the record; a live record with the key makes it a {@link CreateError}.
   * @throws StoreError when the server fails
   */
  async create(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const now = this.#binding.clock().toISOString();
    let rowCount: number | null;
    try {
      ({ rowCount } = await this.#client.query(this.#sql.create, [
        record.sessionKey,
        data,
        record.expiresAt.toISOString(),
        now,
      ]));
    } catch (error) {
      if (codeOf(error) !== UNIQUE_VIOLATION) throw this.#failure('create a session', error);
      rowCount = 0;
    }
    if (!rowCount) throw new CreateError('The session key is taken');
    return record.sessionKey;
  }

  /**
   * Updates the record's data and expiry; no row with the key makes it an {@link UpdateError}.
   * Like Django, an expired row is still updated.
   * @throws StoreError when the server fails
   */
  async save(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const { rowCount } = await this.#query('save a session', this.#sql.save, [
      record.sessionKey,
      data,
      record.expiresAt.toISOString(),
    ]);
    if (!rowCount) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
  }

  /** @throws StoreError when the server fails */
  async delete(sessionKey: string): Promise<void> {
    await this.#query('delete a session', this.#sql.delete, [sessionKey]);
  }

  /**
   * Whether a row with the key has an `expire_date` after now. (Django's `exists` ignores
   * `expire_date`; keepstate's contract asks for live records.)
   * @throws StoreError when the server fails
   */
  async exists(sessionKey: string): Promise<boolean> {
    const now = this.#binding.clock().toISOString();
    const { rows } = await this.#query('check a session', this.#sql.exists, [sessionKey, now]);
    return rows.length > 0;
  }

  /**
   * Deletes the rows whose `expire_date` is before now (Django's `clear_expired`), at most
   * `clearBatchSize` per statement, each statement its own transaction.
   *
   * @returns how many rows were deleted
   * @throws StoreError when the server fails
   */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = this.#binding.clock().toISOString();
    return clearInBatches(
      async () => {
        const result = await this.#query('clear expired sessions', this.#sql.clear, [
          now,
          this.#batchSize,
        ]);
        return result.rowCount ?? 0;
      },
      this.#batchSize,
      options,
    );
  }

  /**
   * Up to `limit` live records, those that expire last first (for an admin page). Data that does
   * not decode lists as `{}`, as `load` gives it.
   *
   * @throws RangeError when `limit` is not a non-negative integer
   * @throws StoreError when the server fails
   */
  async list(limit: number): Promise<SessionRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`${STORE}: list() takes a non-negative integer, got ${limit}`);
    }
    const codec = this.#binding.codec;
    const now = this.#binding.clock().toISOString();
    const { rows } = await this.#query('list sessions', this.#sql.list, [now, limit]);
    return (rows as readonly ListedRow[]).map((row) => ({
      sessionKey: String(row.session_key),
      data: codec.decode(String(row.session_data)) ?? {},
      expiresAt: new Date(Number(row.expires_at)),
    }));
  }

  async #query(action: string, text: string, values: unknown[]): Promise<PostgresResult> {
    try {
      return await this.#client.query(text, values);
    } catch (error) {
      throw this.#failure(action, error);
    }
  }

  #failure(action: string, error: unknown): StoreError {
    const hint =
      codeOf(error) === UNDEFINED_TABLE
        ? `create the table "${this.table}" with migrate() or \`keepstate migrate\``
        : undefined;
    return driverFailure(STORE, action, error, hint);
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
