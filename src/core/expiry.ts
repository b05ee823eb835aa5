/**
 * Django's expiry arithmetic. Instants inside the session data are Python `isoformat()` strings,
 * which carry microseconds, so the arithmetic here works in whole microseconds since the epoch to
 * round-trip Django's values exactly.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/base.py
 */

/** The data key Django keeps a per-session expiry under. */
export const EXPIRY_KEY = '_session_expiry';

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)?$/;

/**
 * Formats an instant as Python's `datetime.isoformat()` of an aware UTC datetime:
 * `2023-11-14T22:18:20+00:00`, with `.ffffff` only when the fraction is not zero.
 */
export function isoformat(instant: Date): string {
  const text = instant.toISOString(); // 2023-11-14T22:18:20.250Z
  const millis = instant.getUTCMilliseconds();
  const fraction = millis === 0 ? '' : `.${String(millis).padStart(3, '0')}000`;
  return `${text.slice(0, 19)}${fraction}+00:00`;
}

/**
 * Parses the ISO 8601 forms Python's `datetime.fromisoformat` reads (a space or `T`, optional
 * seconds and fraction, `Z` or an offset; no offset means UTC, as Django stores with USE_TZ).
 *
 * @returns microseconds since the epoch, or `null` when `text` is not such a date
 */
export function parseIsoformat(text: string): number | null {
  const match = ISO.exec(text);
  if (match === null) return null;
  const [, year, month, day, hour, minute, second, fraction, offset] = match;
  const millis = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second ?? 0),
  );
  if (Number.isNaN(millis)) return null;
  const micros = Number((fraction ?? '').padEnd(6, '0'));
  return millis * 1000 + micros - offsetMicros(offset);
}

function offsetMicros(offset: string | undefined): number {
  if (offset === undefined || offset === 'Z') return 0;
  const digits = offset.slice(1).replaceAll(':', '');
  const seconds =
    Number(digits.slice(0, 2)) * 3600 +
    Number(digits.slice(2, 4)) * 60 +
    Number(digits.slice(4, 6) || 0);
  return (offset[0] === '-' ? -seconds : seconds) * 1_000_000;
}

/** A per-session expiry as {@link Session.setExpiry} takes it: seconds, an instant, or `null`. */
export type Expiry = number | Date | null;

/**
 * The seconds from `modification` until the session expires, floored, as Django's
 * `get_expiry_age`: no expiry (or 0) gives `cookieAge`; a number is returned as it is; an
 * instant (a `Date` or an ISO string) gives the whole seconds until it, negative once past.
 */
export function expiryAge(expiry: unknown, modification: Date, cookieAge: number): number {
  if (!expiry) return cookieAge;
  if (typeof expiry === 'number') return expiry;
  const until = instantMicros(expiry);
  if (until === null) return cookieAge;
  return Math.floor((until - modification.getTime() * 1000) / 1_000_000);
}

/**
 * The instant the session expires, as Django's `get_expiry_date`: an instant expiry is returned
 * as it is; otherwise `modification` plus the number of seconds (no expiry, or 0, means
 * `cookieAge`).
 */
export function expiryDate(expiry: unknown, modification: Date, cookieAge: number): Date {
  const until = expiry ? instantMicros(expiry) : null;
  if (until !== null) return new Date(Math.floor(until / 1000));
  const seconds = typeof expiry === 'number' && expiry !== 0 ? expiry : cookieAge;
  return new Date(modification.getTime() + seconds * 1000);
}

function instantMicros(expiry: unknown): number | null {
  if (expiry instanceof Date) return expiry.getTime() * 1000;
  if (typeof expiry === 'string') return parseIsoformat(expiry);
  return null;
}

/**
 * For the cookie stores, which enforce `setExpiry` where Django does not: the instant (ms since
 * the epoch) the session's own expiry ends it, or `null` when it has none. An ISO instant counts
 * as it is, a non-zero number of seconds from `issuedAt` (ms), when the cookie was last written;
 * 0 (until the browser closes) and anything else leave only `cookieAge`.
 */
export function ownExpiryTime(expiry: unknown, issuedAt: number): number | null {
  if (typeof expiry === 'number' && Number.isFinite(expiry) && expiry !== 0) {
    return issuedAt + expiry * 1000;
  }
  if (typeof expiry === 'string') {
    const micros = parseIsoformat(expiry);
    return micros === null ? null : micros / 1000;
  }
  return null;
}
