import { createHash } from 'node:crypto';
import { ImproperlyConfigured } from '../../improperly-configured.js';

/**
 * The table Django's `db` engine keeps sessions in (the `Session` model's table).
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/models.py
 */
export const DEFAULT_TABLE = 'django_session';

/**
 * How many rows one `DELETE` of `clearExpired` removes by default. Django deletes every expired
 * row in one statement; batches keep each statement's locks short.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/db.py
 */
export const DEFAULT_CLEAR_BATCH_SIZE = 1_000;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Appended to the session table's name to name its user index table. */
const USER_TABLE_SUFFIX = '_keepstate_user';

/**
 * Options every SQL store takes.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 */
export interface SqlStoreOptions {
  /**
   * The session table (Django's `db_table`), default `django_session`: a plain SQL identifier
   * (letters, digits and `_`, not starting with a digit). It is always quoted, so its case is
   * kept, as Django keeps it.
   */
  readonly table?: string;
  /**
   * The most rows one `DELETE` of `clearExpired` removes, default 1,000: small enough that no
   * statement holds its locks long, large enough that a million expired rows take a thousand
   * round trips.
   */
  readonly clearBatchSize?: number;
  /**
   * The user index table, which files sessions under their user for `listSessions` and
   * `deleteUserSessions`: keepstate's own, beside Django's, made by `migrate`. Default: the
   * session table's name plus `_keepstate_user` (`django_session_keepstate_user`), cut and given
   * an 8-digit hash of the table's name where that would pass the backend's identifier limit.
   * The same rules as `table`.
   */
  readonly userTable?: string;
}

/** {@link SqlStoreOptions} with defaults filled in and values checked. */
export interface ResolvedSqlStoreOptions {
  readonly table: string;
  readonly userTable: string;
  readonly clearBatchSize: number;
}

/**
 * Fills in the defaults of {@link SqlStoreOptions} and checks them, so a bad table name fails
 * when the store is made, never inside a query.
 *
 * @param storeName - the store's class name, for the error message
 * @param maxNameLength - the backend's longest identifier (PostgreSQL 63, MySQL 64), or
 *   `undefined` where there is no limit (SQLite)
 * @throws ImproperlyConfigured naming `table`, `userTable` or `clearBatchSize` when one is invalid
 * @see https://docs.djangoproject.com/en/5.2/ref/models/options/#db-table
 */
export function resolveSqlStoreOptions(
  options: SqlStoreOptions,
  storeName: string,
  maxNameLength?: number,
): ResolvedSqlStoreOptions {
  const table = checkIdentifier('table', options.table ?? DEFAULT_TABLE, storeName, maxNameLength);
  const userTable = checkIdentifier(
    'userTable',
    options.userTable ?? defaultUserTable(table, maxNameLength),
    storeName,
    maxNameLength,
  );
  if (userTable === table) {
    throw new ImproperlyConfigured(
      `keepstate: the \`userTable\` option of ${storeName} must name another table than \`table\`; both are ${JSON.stringify(table)}.`,
    );
  }
  const clearBatchSize = options.clearBatchSize ?? DEFAULT_CLEAR_BATCH_SIZE;
  if (!Number.isSafeInteger(clearBatchSize) || clearBatchSize < 1) {
    throw new ImproperlyConfigured(
      `keepstate: the \`clearBatchSize\` option of ${storeName} must be a positive integer (rows per DELETE); got ${String(clearBatchSize)}.`,
    );
  }
  return { table, userTable, clearBatchSize };
}

function checkIdentifier(
  option: string,
  name: string,
  storeName: string,
  maxNameLength: number | undefined,
): string {
  const tooLong = maxNameLength !== undefined && name.length > maxNameLength;
  if (!IDENTIFIER.test(name) || tooLong) {
    const limit = maxNameLength === undefined ? '' : `, at most ${maxNameLength} characters`;
    throw new ImproperlyConfigured(
      `keepstate: the \`${option}\` option of ${storeName} must be a plain SQL identifier (letters, digits and _, not starting with a digit${limit}); got ${JSON.stringify(name)}.`,
    );
  }
  return name;
}

function defaultUserTable(table: string, maxNameLength: number | undefined): string {
  const name = `${table}${USER_TABLE_SUFFIX}`;
  if (maxNameLength === undefined || name.length <= maxNameLength) return name;
  // The hash keeps two long table names that share a prefix from sharing an index table.
  const hash = createHash('md5').update(table).digest('hex').slice(0, 8);
  const kept = maxNameLength - USER_TABLE_SUFFIX.length - hash.length - 1;
  return `${table.slice(0, kept)}_${hash}${USER_TABLE_SUFFIX}`;
}
