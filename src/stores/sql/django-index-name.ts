import { createHash } from 'node:crypto';

/**
 * Names an index the way Django's schema editor does (`_create_index_name`): table, columns and
 * the first 8 hex digits of an MD5 over their names, shortened to the backend's limit. So
 * `django_session` + `expire_date` gives `django_session_expire_date_a5c62663`, the name Django's
 * `migrate` gives it on every backend.
 *
 * @param maxNameLength - the backend's longest identifier; Django uses 200 where there is none
 * @param suffix - appended to the digest, e.g. `_like` for PostgreSQL's pattern-ops index
 * @see https://github.com/django/django/blob/main/django/db/backends/base/schema.py
 */
export function djangoIndexName(
  table: string,
  columns: readonly string[],
  maxNameLength = 200,
  suffix = '',
): string {
  const hash = createHash('md5');
  for (const name of [table, ...columns]) hash.update(name);
  let hashSuffix = `${hash.digest('hex').slice(0, 8)}${suffix}`;
  const joined = columns.join('_');
  const name = `${table}_${joined}_${hashSuffix}`;
  if (name.length <= maxNameLength) return name;
  if (hashSuffix.length > maxNameLength / 3) {
    hashSuffix = hashSuffix.slice(0, Math.floor(maxNameLength / 3));
  }
  const other = Math.floor((maxNameLength - hashSuffix.length) / 2) - 1;
  const short = `${table.slice(0, other)}_${joined.slice(0, other)}_${hashSuffix}`;
  return /^[_0-9]/.test(short) ? `D${short.slice(0, -1)}` : short;
}
