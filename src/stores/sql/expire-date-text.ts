/** `''` for no fraction, else `.mmm000`, by milliseconds. */
const FRACTIONS = Array.from({ length: 1000 }, (_, ms) =>
  ms === 0 ? '' : `.${String(ms).padStart(3, '0')}000`,
);

interface SecondText {
  second: number;
  text: string;
}

let recent: SecondText = { second: Number.NaN, text: '' };
let older: SecondText = { second: Number.NaN, text: '' };

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
  const millis = instant.getTime();
  const second = Math.floor(millis / 1000);
  const fraction = FRACTIONS[millis - second * 1000] as string;
  // A request writes "now" and "now plus the cookie age": two seconds, each cached while it lasts.
  if (second === recent.second) return recent.text + fraction;
  if (second === older.second) return older.text + fraction;
  const year = instant.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) {
    throw new RangeError(`keepstate: ${String(instant)} is outside the years 1 to 9999`);
  }
  const iso = instant.toISOString(); // 2023-11-28T22:13:20.250Z
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const evicted = older;
  older = recent;
  recent = evicted;
  recent.second = second;
  recent.text = text;
  return text + fraction;
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
  return parseDjangoText(text) ?? parseAnyText(text);
}

const DASH = 0x2d;
const SPACE = 0x20;
const COLON = 0x3a;
const DOT = 0x2e;
const ZERO = 0x30;

/**
 * The instant Django's own spelling names (`YYYY-MM-DD HH:MM:SS`, then `.ffffff` or nothing),
 * read by position; `undefined` for any other text, left to the regex. Same result as the regex.
 */
function parseDjangoText(text: string): Date | null | undefined {
  const length = text.length;
  if (length !== 19 && length !== 26) return undefined;
  if (
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    text.charCodeAt(10) !== SPACE ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON ||
    (length === 26 && text.charCodeAt(19) !== DOT)
  ) {
    return undefined;
  }
  const y = numberAt(text, 0, 4);
  const mo = numberAt(text, 5, 2);
  const d = numberAt(text, 8, 2);
  const h = numberAt(text, 11, 2);
  const mi = numberAt(text, 14, 2);
  const s = numberAt(text, 17, 2);
  const ms = length === 26 ? numberAt(text, 20, 3) : 0;
  const micros = length === 26 ? numberAt(text, 23, 3) : 0;
  // NaN where a digit was expected. A year before 100, which Date.UTC reads as 19xx, is left to
  // the regex too, so both paths give the same answer.
  if (Number.isNaN(y + mo + d + h + mi + s + ms + micros) || y < 100) return undefined;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    return null; // Python refuses 2023-02-30 where Date.UTC rolls it over into March.
  }
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
}

/** The number `count` decimal digits at `start` spell; NaN when one is not a digit. */
function numberAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (!(digit >= 0 && digit <= 9)) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function parseAnyText(text: string): Date | null {
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
