/**
 * Writes an instant as Django stores `expire_date` on SQLite: naive UTC text,
 * `2023-11-28 22:13:20`, with `.ffffff` only when the fraction is not zero
 * (`2023-11-28 22:13:20.250000`). That is Python's `str()` of the naive datetime, which Django
 * also compares against, as TEXT, when it filters on `expire_date`.
 *
 * @throws RangeError for an instant outside the years 1 to 9999, which Python's datetime (and
 *   so Django) cannot hold either
 * @see https://github.com/django/django/blob/main/django/db/backends/sqlite3/operations.py
 */
export function expireDateText(instant: Date): string {
  const year = instant.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) {
    throw new RangeError(`keepstate: ${String(instant)} is outside the years 1 to 9999`);
  }
  const iso = instant.toISOString(); // 2023-11-28T22:13:20.250Z
  const millis = instant.getUTCMilliseconds();
  const fraction = millis === 0 ? '' : `.${String(millis).padStart(3, '0')}000`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}`;
}

// Django's `datetime_re` from django/utils/dateparse.py.
const DATETIME =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6})\d{0,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Reads an `expire_date` as Django's `parse_datetime` does: a space or `T`, optional seconds and
 * fraction, an optional `Z` or offset; without one the text is UTC (Django's `USE_TZ` storage).
 * Foreign rows spelled `2023-11-14T23:13:20.000Z` or `2023-11-14 23:13:20+00:00` read as the
 * same instant. The fraction is cut to milliseconds.
 *
 * @returns the instant, or `null` when the text is not a date Django could read
 * @see https://github.com/django/django/blob/main/django/utils/dateparse.py
 */
export function parseExpireDateText(text: string): Date | null {
  const match = DATETIME.exec(text);
  if (match === null) return null;
  const [, year, month, day, hour, minute, second = '0', fraction = '', offset] = match;
  const fields = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = fields;
  const millis = Date.UTC(y, mo - 1, d, h, mi, s, Number(fraction.padEnd(3, '0').slice(0, 3)));
  const date = new Date(millis);
  // Python refuses 2023-02-30 where Date.UTC rolls it over into March.
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    return null;
  }
  return new Date(millis - offsetMillis(offset));
}

function offsetMillis(offset: string | undefined): number {
  if (offset === undefined || offset === 'Z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0);
  return (offset.startsWith('-') ? -minutes : minutes) * 60_000;
}
