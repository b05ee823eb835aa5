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
import { listedSession, ownedSessions } from './owned-by.js';
import { resolveSqlStoreOptions, type SqlStoreOptions } from './sql-store-options.js';
import { TablePresence } from './table-presence.js';
import { type UserIndexEntry, userIndexEntry } from './user-index-entry.js';

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

interface UserRow extends ListedRow {
  readonly created_ms: unknown;
  readonly last_activity_ms: unknown;
  readonly user_agent: unknown;
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
 * `update` is an optimistic compare-and-set on the stored text (`UPDATE … WHERE session_data =
 * <what was read>`), read again and retried on a conflict; it needs no transaction, so it works
 * the same on a pool and on a single client.
 *
 * Sessions with a user (`SessionRecord.userId`) are also filed in a user index table of
 * keepstate's own (`userTable`, default `django_session_keepstate_user`: `session_key`,
 * `user_id`, `created_at`, `last_activity`, `expire_date`, `user_agent`), by the same statement
 * that writes the session row (a data-modifying `WITH`), so with no extra round trip; `migrate`
 * makes it. Anonymous writes never touch it. The index is a lookup aid, and the session row
 * stays the truth: `listSessions` and `deleteUserSessions` keep only live sessions whose data
 * still names the user, so an index row left behind by an anonymous write, or by Django, is
 * never listed, and is removed by `deleteUserSessions` or, once stale, by `clearExpired`. Where
 * the index table is missing (a database only Django migrated), sessions are saved unfiled with
 * one warning to run `keepstate migrate`, and `listSessions` fails saying so.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export class PostgresStore implements SessionStore {
  /** The session table. */
  readonly table: string;
  /** The user index table. */
  readonly userTable: string;
  readonly #client: PostgresClient;
  readonly #binding = new StoreBinding(STORE);
  readonly #batchSize: number;
  readonly #sql: Readonly<
    Record<
      | 'load'
      | 'create'
      | 'createFiled'
      | 'save'
      | 'saveFiled'
      | 'swap'
      | 'swapFiled'
      | 'delete'
      | 'deleteFiled'
      | 'exists'
      | 'clear'
      | 'list'
      | 'userSessions'
      | 'candidates'
      | 'deleteUser'
      | 'clearIndex'
      | 'hasUserTable',
      string
    >
  >;
  readonly #ddl: readonly string[];
  readonly #userIndex = new TablePresence();

  /**
   * @param client - a `pg.Pool` (or anything with its `query(text, values)`); the store does not
   *   end it
   * @throws ImproperlyConfigured when `table` or `clearBatchSize` is invalid
   */
  constructor(client: PostgresClient, options: PostgresStoreOptions = {}) {
    const { table, userTable, clearBatchSize } = resolveSqlStoreOptions(
      options,
      STORE,
      MAX_NAME_LENGTH,
    );
    this.table = table;
    this.userTable = userTable;
    this.#client = client;
    this.#batchSize = clearBatchSize;
    const t = `"${table}"`;
    const u = `"${userTable}"`;
    const epochMs = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::bigint`;
    // Files the session the statement `w` wrote under $5 (user agent $6), now being $4 and the
    // expiry $3. A save keeps created_at while the user stays; a create starts it afresh.
    const file = (keepCreatedAt: boolean) =>
      `f AS (INSERT INTO ${u} (session_key, user_id, created_at, last_activity, expire_date, user_agent) SELECT session_key, $5::varchar, $4::timestamptz, $4::timestamptz, $3::timestamptz, $6::varchar FROM w ON CONFLICT (session_key) DO UPDATE SET created_at = ${keepCreatedAt ? `CASE WHEN ${u}.user_id = EXCLUDED.user_id THEN ${u}.created_at ELSE EXCLUDED.created_at END` : 'EXCLUDED.created_at'}, user_id = EXCLUDED.user_id, last_activity = EXCLUDED.last_activity, expire_date = EXCLUDED.expire_date, user_agent = EXCLUDED.user_agent) SELECT count(*)::int AS written FROM w`;
    const create = `INSERT INTO ${t} (session_key, session_data, expire_date) VALUES ($1, $2, $3) ON CONFLICT (session_key) DO UPDATE SET session_data = EXCLUDED.session_data, expire_date = EXCLUDED.expire_date WHERE ${t}.expire_date <= $4`;
    const save = `UPDATE ${t} SET session_data = $2, expire_date = $3 WHERE session_key = $1`;
    // The compare-and-set of update: the text read before merging is $4, or $7 when filing.
    const swap = (read: string) => `${save} AND session_data = ${read}`;
    this.#sql = {
      load: `SELECT session_data, floor(extract(epoch FROM expire_date) * 1000)::bigint AS expires_at FROM ${t} WHERE session_key = $1 AND expire_date > $2`,
      // Insert-if-absent in one statement (no unique violation, so no aborted transaction); a
      // row that is there but expired is taken over, as load would not return it anyway.
      create,
      createFiled: `WITH w AS (${create} RETURNING session_key), ${file(false)}`,
      save,
      saveFiled: `WITH w AS (${save} RETURNING session_key), ${file(true)}`,
      swap: swap('$4'),
      swapFiled: `WITH w AS (${swap('$7')} RETURNING session_key), ${file(true)}`,
      delete: `DELETE FROM ${t} WHERE session_key = $1`,
      deleteFiled: `WITH f AS (DELETE FROM ${u} WHERE session_key = $1) DELETE FROM ${t} WHERE session_key = $1`,
      exists: `SELECT 1 FROM ${t} WHERE session_key = $1 AND expire_date > $2`,
      clear: `DELETE FROM ${t} WHERE session_key IN (SELECT session_key FROM ${t} WHERE expire_date < $1 LIMIT $2)`,
      list: `SELECT session_key, session_data, floor(extract(epoch FROM expire_date) * 1000)::bigint AS expires_at FROM ${t} WHERE expire_date > $1 ORDER BY expire_date DESC LIMIT $2`,
      userSessions: `SELECT x.session_key, ${epochMs('x.created_at')} AS created_ms, ${epochMs('x.last_activity')} AS last_activity_ms, x.user_agent, s.session_data, ${epochMs('s.expire_date')} AS expires_at FROM ${u} x JOIN ${t} s ON s.session_key = x.session_key WHERE x.user_id = $1 AND s.expire_date > $2`,
      candidates: `SELECT x.session_key, s.session_data FROM ${u} x LEFT JOIN ${t} s ON s.session_key = x.session_key AND s.expire_date > $2 WHERE x.user_id = $1`,
      // $2: the keys of the user's sessions, $3: those and the keys of stale index rows.
      deleteUser: `WITH d AS (DELETE FROM ${t} WHERE session_key = ANY($2::varchar[]) RETURNING 1), f AS (DELETE FROM ${u} WHERE user_id = $1 AND session_key = ANY($3::varchar[])) SELECT count(*)::int AS deleted FROM d`,
      // Index rows past their expiry whose session is gone or expired too; one Django extended
      // since stays.
      clearIndex: `DELETE FROM ${u} WHERE session_key IN (SELECT x.session_key FROM ${u} x WHERE x.expire_date < $1 AND NOT EXISTS (SELECT 1 FROM ${t} s WHERE s.session_key = x.session_key AND s.expire_date >= $1) LIMIT $2)`,
      hasUserTable: 'SELECT to_regclass($1) IS NOT NULL AS present',
    };
    const index = djangoIndexName(table, ['expire_date'], MAX_NAME_LENGTH);
    const like = djangoIndexName(table, ['session_key'], MAX_NAME_LENGTH, '_like');
    this.#ddl = [
      `CREATE TABLE IF NOT EXISTS ${t} ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "${index}" ON ${t} ("expire_date")`,
      // Django adds this pattern-ops index to every indexed varchar column on PostgreSQL.
      `CREATE INDEX IF NOT EXISTS "${like}" ON ${t} ("session_key" varchar_pattern_ops)`,
      // No foreign key to the session table: Django's `flush` truncates that table, which
      // PostgreSQL refuses while another table references it.
      `CREATE TABLE IF NOT EXISTS ${u} ("session_key" varchar(40) NOT NULL PRIMARY KEY, "user_id" varchar(255) NOT NULL, "created_at" timestamp with time zone NOT NULL, "last_activity" timestamp with time zone NOT NULL, "expire_date" timestamp with time zone NOT NULL, "user_agent" varchar(512) NULL)`,
      `CREATE INDEX IF NOT EXISTS "${djangoIndexName(userTable, ['user_id'], MAX_NAME_LENGTH)}" ON ${u} ("user_id")`,
      `CREATE INDEX IF NOT EXISTS "${djangoIndexName(userTable, ['expire_date'], MAX_NAME_LENGTH)}" ON ${u} ("expire_date")`,
    ];
  }

  /** Takes the manager's codec and clock. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * Creates the table and its indexes if they are missing, with the SQL of Django's `migrate`
   * (including the `_like` index Django adds on PostgreSQL), and the user index table beside
   * it; safe to run again, also from two processes at once. A database made before the user
   * index existed gets it on its next `migrate`.
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
    const now = this.#binding.clock().toISOString();
    const result = await this.#query('load a session', this.#sql.load, [sessionKey, now]);
    const row = result.rows[0] as SessionRow | undefined;
    if (row === undefined) return null;
    const version = String(row.session_data);
    return {
      sessionKey,
      data: codec.decode(version) ?? {},
      expiresAt: new Date(Number(row.expires_at)),
      version,
    };
  }

  /**
   * Inserts the record; a live record with the key makes it a {@link CreateError}.
   * @throws StoreError when the server fails
   */
  async create(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const now = this.#binding.clock().toISOString();
    const entry = await this.#filable(userIndexEntry(record));
    const values = [record.sessionKey, data, record.expiresAt.toISOString(), now];
    let written: number;
    try {
      written =
        entry === null
          ? ((await this.#client.query(this.#sql.create, values)).rowCount ?? 0)
          : writtenOf(await this.#client.query(this.#sql.createFiled, filed(values, entry)));
    } catch (error) {
      if (codeOf(error) !== UNIQUE_VIOLATION) throw this.#failure('create a session', error);
      written = 0;
    }
    if (written === 0) throw new CreateError('The session key is taken');
    return record.sessionKey;
  }

  /**
   * Updates the record's data and expiry; no row with the key makes it an {@link UpdateError}.
   * Like Django, an expired row is still updated. A record with a user is filed under it by the
   * same statement (`lastActivity` now).
   * @throws StoreError when the server fails
   */
  async save(record: SessionRecord): Promise<string> {
    const data = this.#binding.codec.encode(record.data);
    const entry = await this.#filable(userIndexEntry(record));
    const values = [record.sessionKey, data, record.expiresAt.toISOString()];
    const written =
      entry === null
        ? ((await this.#query('save a session', this.#sql.save, values)).rowCount ?? 0)
        : writtenOf(
            await this.#query(
              'save a session',
              this.#sql.saveFiled,
              filed([...values, this.#binding.clock().toISOString()], entry),
            ),
          );
    if (written === 0) {
      throw new UpdateError('The session no longer exists');
    }
    return record.sessionKey;
  }

  /**
   * Reads the live record, calls `merge` with its data and writes what it returns only if the
   * stored text is still the one read (a compare-and-set); otherwise reads again and retries,
   * so `merge` may run more than once. A record with a user is filed under it by the writing
   * statement. The row keeps Django's encoding, so Django still reads it.
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
      const now = this.#binding.clock().toISOString();
      let read: string;
      let latest: SessionData;
      if (known !== undefined) {
        ({ version: read, data: latest } = known);
        known = undefined;
      } else {
        const { rows } = await this.#query('update a session', this.#sql.load, [sessionKey, now]);
        const row = rows[0] as SessionRow | undefined;
        if (row === undefined) throw new UpdateError('The session no longer exists');
        read = String(row.session_data);
        latest = codec.decode(read) ?? {};
      }
      const record = merge(latest);
      const data = codec.encode(record.data);
      const entry = await this.#filable(userIndexEntry(record));
      const values = [sessionKey, data, record.expiresAt.toISOString()];
      const written =
        entry === null
          ? (await this.#query('update a session', this.#sql.swap, [...values, read])).rowCount
          : writtenOf(
              await this.#query('update a session', this.#sql.swapFiled, [
                ...filed([...values, now], entry),
                read,
              ]),
            );
      return (written ?? 0) > 0;
    });
    return sessionKey;
  }

  /**
   * Deletes the session and its user index row, in one statement.
   * @throws StoreError when the server fails
   */
  async delete(sessionKey: string): Promise<void> {
    const sql = (await this.#hasUserTable()) ? this.#sql.deleteFiled : this.#sql.delete;
    await this.#query('delete a session', sql, [sessionKey]);
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
    const now = this.#binding.clock().toISOString();
    const { rows } = await this.#query('list the sessions of a user', this.#sql.userSessions, [
      userId,
      now,
    ]);
    return (rows as readonly UserRow[]).flatMap((row) =>
      listedSession(codec, userId, row, {
        createdAt: new Date(Number(row.created_ms)),
        lastActivity: new Date(Number(row.last_activity_ms)),
        expiresAt: new Date(Number(row.expires_at)),
      }),
    );
  }

  /**
   * Deletes every live session filed under `userId` whose data still names that user, but
   * `options.except`, with their user index rows, in one statement; index rows of the user
   * whose session is gone or no longer the user's go too.
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
    const now = this.#binding.clock().toISOString();
    const action = 'delete the sessions of a user';
    const { rows } = await this.#query(action, this.#sql.candidates, [userId, now]);
    const { owned, unfiled } = ownedSessions(
      codec,
      userId,
      rows as readonly ListedRow[],
      options.except,
    );
    if (unfiled.length === 0) return 0;
    const result = await this.#query(action, this.#sql.deleteUser, [userId, owned, unfiled]);
    return Number((result.rows[0] as { deleted?: unknown } | undefined)?.deleted ?? 0);
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
   * `clearBatchSize` per statement, each statement its own transaction; then, the same way, the
   * user index rows past their expiry whose session is gone or expired (none where the user
   * index table is missing).
   *
   * @returns how many sessions were deleted (index rows are not counted)
   * @throws StoreError when the server fails
   */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = this.#binding.clock().toISOString();
    const deleted = await clearInBatches(
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
    if (await this.#hasUserTable()) {
      await clearInBatches(async () => {
        const result = await this.#query('clear its user index', this.#sql.clearIndex, [
          now,
          this.#batchSize,
        ]);
        return result.rowCount ?? 0;
      }, this.#batchSize);
    }
    return deleted;
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

  /**
   * `entry` when it can be filed; `null` when there is none or the user index table is missing,
   * which is warned about once: the session is saved, but not filed under its user.
   */
  async #filable(entry: UserIndexEntry | null): Promise<UserIndexEntry | null> {
    if (entry === null || (await this.#hasUserTable())) return entry;
    if (this.#userIndex.firstMiss()) {
      this.#binding.context.logger.warn(
        `${STORE}: the user index table "${this.userTable}" is missing, so sessions are not filed under their users (run migrate() or \`keepstate migrate\`)`,
      );
    }
    return null;
  }

  async #hasUserTable(): Promise<boolean> {
    if (this.#userIndex.stale) {
      const { rows } = await this.#query('look for its user index table', this.#sql.hasUserTable, [
        `"${this.userTable}"`,
      ]);
      this.#userIndex.record((rows[0] as { present?: unknown } | undefined)?.present === true);
    }
    return this.#userIndex.present;
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
        ? `create the tables "${this.table}" and "${this.userTable}" with migrate() or \`keepstate migrate\``
        : undefined;
    return driverFailure(STORE, action, error, hint);
  }
}

/** The values of a `…Filed` statement: the write's ($1 to $4), then the user and agent. */
function filed(values: readonly string[], entry: UserIndexEntry): (string | null)[] {
  return [...values, entry.userId, entry.userAgent];
}

/** The sessions a `…Filed` statement wrote (0 or 1). */
function writtenOf(result: PostgresResult): number {
  return Number((result.rows[0] as { written?: unknown } | undefined)?.written ?? 0);
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
