import { type SerializeOptions, serialize } from 'cookie';
import { type Clock, systemClock } from '../signing/clock.js';

/** A `SameSite` attribute value; validated in any letter case and written exactly as given. */
export type SameSite = 'Lax' | 'Strict' | 'None' | 'lax' | 'strict' | 'none';

/**
 * The attributes of a `Set-Cookie` header, as Django's `HttpResponse.set_cookie` takes them.
 *
 * Every duration is in seconds and every instant a `Date`.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpResponse.set_cookie
 */
export interface CookieOptions {
  /**
   * Lifetime in seconds. Writes `Max-Age` (truncated to an integer) and an `expires` date of now plus
   * `maxAge` (truncated to the second), as Django does. `0` and negative values are written as given.
   */
  maxAge?: number;
  /**
   * A `Date` is converted into `maxAge` the way Django converts a `datetime`: the whole seconds from
   * now to one second after it, at least 0 (so the written `expires` is one second later than
   * asked). A string is copied verbatim into `expires` (it may not hold `;` or control characters).
   */
  expires?: Date | string;
  /** The `Path` attribute; `'/'` by default, `null` omits it. */
  path?: string | null;
  /** The `Domain` attribute; omitted by default. */
  domain?: string;
  /** Adds `Secure`. */
  secure?: boolean;
  /** Adds `HttpOnly`. */
  httpOnly?: boolean;
  /** Adds `SameSite` with this value; `false` or absent omits it. */
  sameSite?: SameSite | false;
  /** Adds `Partitioned` (CHIPS); not in Django. Browsers also require `Secure` for it. */
  partitioned?: boolean;
  /** Adds `Priority` (a Chrome extension); not in Django. */
  priority?: 'low' | 'medium' | 'high';
  /** The source of "now" for `maxAge` and `expires`; the system clock by default. */
  clock?: Clock;
}

/** Python's `http.cookies._LegalChars`: names must be made of these, values made of them stay bare. */
const LEGAL_CHARS = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/;

/** Python's `Morsel._reserved` keys (Python 3.11, which Django 5.2 runs on), compared lower-cased. */
const RESERVED_NAMES = new Set([
  'expires',
  'path',
  'comment',
  'domain',
  'max-age',
  'secure',
  'httponly',
  'version',
  'samesite',
]);

/** Bytes that Python's `_quote` copies as they are inside the quotes (`_UnescapedChars`). */
const UNESCAPED = (() => {
  const table = new Uint8Array(256);
  const chars = "!#$%&'*+-.^_`|~: ()/<=>?@[]{}";
  for (let code = 0; code < 256; code++) {
    const char = String.fromCharCode(code);
    if (/[A-Za-z0-9]/.test(char) || chars.includes(char)) table[code] = 1;
  }
  return table;
})();

/** A character that no header can carry: Node's `setHeader` and the `Headers` class refuse it. */
const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/** An `expires` string may not end the attribute early or carry control or non-ASCII characters. */
const EXPIRES_TEXT = /^[\x20-\x3a\x3c-\x7e]*$/;

/**
 * Serializes one cookie into a `Set-Cookie` header value with the rules of Django's
 * `HttpResponse.set_cookie`, so that a Django application reads back exactly `value`.
 *
 * A value made only of letters, digits and ``!#$%&'*+-.^_`|~:`` is written bare; any other value
 * (including the empty one, written `""`) is quoted the way Python's `http.cookies` quotes it: in
 * double quotes, with `\"`, `\\`, and 3-digit octal escapes for `,`, `;`, CR, LF and every other
 * control character and U+007F..U+00FF (`é` is `\351`), so no value can end the cookie or the
 * header early. A character above U+00FF is refused: Django writes it raw, which no HTTP header
 * can carry (Node's `setHeader` and `Headers` refuse it), so encode such values first (signing
 * output never has them).
 *
 * Cookie prefixes are enforced as browsers enforce them (in any letter case): a `__Secure-` or
 * `__Host-` name gets `Secure` (added when `secure` is not given), and a `__Host-` name also
 * needs `Path=/` and no `Domain`. Django writes such a cookie without them, and the browser then
 * drops it silently.
 *
 * Attribute names and order follow the `cookie` package (`Max-Age`, `Domain`, `Path`, `Expires`, ...)
 * rather than Python's sorted lower-case `expires` first: browsers ignore both differences. Which
 * attributes appear and their values are Django's: `maxAge` writes `Max-Age` and `Expires`, an
 * `expires` string is written as given, `sameSite` keeps the caller's letter case.
 *
 * @param name - the cookie name: letters, digits and ``!#$%&'*+-.^_`|~:`` only, and not an attribute
 *   name such as `expires` or `path` (in any case), as Python's `http.cookies` requires.
 * @param value - the cookie value: any string of characters up to U+00FF.
 * @param options - the attributes; durations in seconds.
 * @returns the header value, without the `Set-Cookie:` prefix.
 * @throws TypeError when the name is invalid, when the value has a character above U+00FF (the
 *   message names the cookie, never the value), when a `__Secure-`/`__Host-` name is given
 *   `secure: false`, a `__Host-` one a `domain` or a `path` other than `/`, when `expires` is a
 *   `Date` and `maxAge` is also given
 *   (Django 5.2's `ValueError: 'expires' and 'max_age' can't be used together.`; an `expires`
 *   string with `maxAge` is allowed and writes both), or when an option is invalid (`sameSite` other
 *   than lax/strict/none in any case, a non-finite `maxAge`, an invalid `Date`, a `domain`, `path`
 *   or `priority` that the `cookie` package refuses); the message names the option.
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpResponse.set_cookie
 * @see https://github.com/django/django/blob/stable/5.2.x/django/http/response.py
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#name-cookie-name-prefixes
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  assertCookieName(name);
  if (typeof value !== 'string') {
    throw new TypeError(`Cookie value must be a string, got ${typeof value}`);
  }
  if (BEYOND_LATIN1.test(value)) {
    // The value may be a credential: the message names the cookie only.
    throw new TypeError(
      `Cookie value of ${describe(name)} has a character above U+00FF, which an HTTP header cannot carry: encode the value first (e.g. with encodeURIComponent)`,
    );
  }
  const sameSite = checkSameSite(options.sameSite);
  const secure = checkPrefix(name, options);
  const attributes: SerializeOptions = {};
  let maxAge = options.maxAge ?? undefined;
  let expiresText: string | undefined;
  let now: Date | undefined;
  const { expires } = options;
  if (expires instanceof Date) {
    if (maxAge !== undefined) {
      throw new TypeError(
        "Options 'expires' (a Date) and 'maxAge' can't be used together: pass only one of them",
      );
    }
    if (!Number.isFinite(expires.getTime())) {
      throw new TypeError('Option expires is an invalid Date');
    }
    now = readClock(options.clock);
    // Django adds one second "so the date matches exactly" and floors to whole seconds
    // (timedelta.days * 86400 + timedelta.seconds), never below 0.
    maxAge = Math.max(0, Math.floor((expires.getTime() - now.getTime() + 1000) / 1000));
  } else if (typeof expires === 'string') {
    if (!EXPIRES_TEXT.test(expires)) {
      throw new TypeError(
        `Option expires is invalid: ${JSON.stringify(expires)} (use printable ASCII without ";")`,
      );
    }
    // Python's Morsel skips empty attributes, so '' means no expires and lets maxAge write one.
    if (expires !== '') expiresText = expires;
  } else if (expires != null) {
    throw new TypeError('Option expires must be a Date or a string');
  }
  if (maxAge !== undefined) {
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge)) {
      throw new TypeError(
        `Option maxAge must be a finite number of seconds, got ${String(maxAge)}`,
      );
    }
    // `|| 0` turns -0 (from truncating -0.5) into 0, as Python's int() does.
    attributes.maxAge = Math.trunc(maxAge) || 0;
    if (expiresText === undefined) {
      now ??= readClock(options.clock);
      // Python computes http_date(time.time() + max_age) in float seconds and floors the sum.
      const expiresAt = new Date(Math.floor(now.getTime() / 1000 + maxAge) * 1000);
      if (!Number.isFinite(expiresAt.getTime())) {
        throw new TypeError(`Option maxAge is out of range: ${maxAge}`);
      }
      attributes.expires = expiresAt;
    }
  }
  const path = options.path === undefined ? '/' : options.path;
  if (path) attributes.path = path;
  if (options.domain) attributes.domain = options.domain;
  if (options.httpOnly) attributes.httpOnly = true;
  if (secure) attributes.secure = true;
  if (options.partitioned) attributes.partitioned = true;
  if (options.priority) attributes.priority = options.priority;
  // The `cookie` package validates the name and writes the attributes, but its value rule (RFC 6265
  // cookie-octets: no space, nothing above U+007E) refuses values that Python's quoting produces and
  // Django reads back ("a b", "caf\351" is fine but "☃" is not), so it serializes an empty value and
  // the Django-quoted value is put in its place. SameSite and an expires string are ours too: the
  // package rewrites SameSite's case and only takes a Date for Expires.
  const header = serialize(name, '', attributes);
  let result = `${name}=${quoteValue(value)}${header.slice(name.length + 1)}`;
  if (expiresText !== undefined) result += `; Expires=${expiresText}`;
  if (sameSite) result += `; SameSite=${sameSite}`;
  return result;
}

function readClock(clock: Clock | undefined): Date {
  const now = (clock ?? systemClock)();
  if (!(now instanceof Date) || !Number.isFinite(now.getTime())) {
    throw new TypeError('Option clock must return a valid Date');
  }
  return now;
}

function assertCookieName(name: string): void {
  if (typeof name !== 'string' || !LEGAL_CHARS.test(name)) {
    throw new TypeError(
      `Cookie name ${describe(name)} is invalid: use one or more letters, digits or !#$%&'*+-.^_\`|~:`,
    );
  }
  if (RESERVED_NAMES.has(name.toLowerCase())) {
    throw new TypeError(
      `Cookie name ${describe(name)} is reserved for a Set-Cookie attribute: choose another name`,
    );
  }
}

/**
 * Whether the cookie gets `Secure`, after the rules browsers apply to prefixed names (RFC 6265bis,
 * section 4.1.3, matched in any letter case).
 */
function checkPrefix(name: string, options: CookieOptions): boolean {
  const lower = name.toLowerCase();
  const host = lower.startsWith('__host-');
  if (!host && !lower.startsWith('__secure-')) return options.secure === true;
  const prefix = host ? '__Host-' : '__Secure-';
  if (options.secure === false) {
    throw new TypeError(
      `Cookie ${describe(name)} needs Secure: browsers drop a ${prefix} cookie without it (leave secure out or pass true)`,
    );
  }
  if (host && options.domain) {
    throw new TypeError(
      `Option domain is not allowed for cookie ${describe(name)}: browsers drop a __Host- cookie with a Domain`,
    );
  }
  if (host && options.path !== undefined && options.path !== '/') {
    throw new TypeError(
      `Option path must be "/" for cookie ${describe(name)}: browsers drop a __Host- cookie with another Path, or none`,
    );
  }
  return true;
}

function checkSameSite(sameSite: unknown): string | undefined {
  if (sameSite === undefined || sameSite === null || sameSite === false || sameSite === '') {
    return undefined;
  }
  if (typeof sameSite === 'string') {
    const lower = sameSite.toLowerCase();
    if (lower === 'lax' || lower === 'strict' || lower === 'none') return sameSite;
  }
  throw new TypeError(
    `Option sameSite is invalid: ${describe(sameSite)} (use "Lax", "Strict" or "None", in any case, or false)`,
  );
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `(${typeof value})`;
}

/** Python's `http.cookies._quote`, which Django's `SimpleCookie` applies to every value. */
function quoteValue(value: string): string {
  if (LEGAL_CHARS.test(value)) return value;
  let quoted = '"';
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0x22) quoted += '\\"';
    else if (code === 0x5c) quoted += '\\\\';
    else if (code > 0xff || UNESCAPED[code] === 1) quoted += value.charAt(index);
    else quoted += `\\${code.toString(8).padStart(3, '0')}`;
  }
  return `${quoted}"`;
}

/** The attributes a {@link CookieSerializer} fixes once: all but `maxAge` and `expires`. */
export type FixedCookieOptions = Omit<CookieOptions, 'maxAge' | 'expires'>;

/**
 * Serializes one cookie name with fixed attributes, many times: what `serializeCookie` writes
 * for `(name, value, { ...options, maxAge })`, byte for byte, with the name and the options
 * validated once in the constructor, the attribute text built once, and the `Expires` text
 * reused while it names the same second. For a header written on every request, such as the
 * session cookie's.
 *
 * @example
 * const sessionCookie = new CookieSerializer('sessionid', { path: '/', httpOnly: true, sameSite: 'Lax' });
 * sessionCookie.serialize(sessionKey, 1209600);
 * // 'sessionid=…; Max-Age=1209600; Path=/; Expires=…; HttpOnly; SameSite=Lax'
 */
export class CookieSerializer {
  /** The cookie name. */
  readonly name: string;
  readonly #options: FixedCookieOptions;
  readonly #clock: Clock;
  /** `; Domain=…; Path=…`, between `Max-Age` and `Expires`. */
  readonly #scope: string;
  /** `; HttpOnly; Secure; Partitioned; Priority=…; SameSite=…`, after `Expires`. */
  readonly #tail: string;
  #expiresSecond = Number.NaN;
  #expiresText = '';

  /**
   * @throws TypeError as `serializeCookie` does for an invalid name or option
   */
  constructor(name: string, options: FixedCookieOptions = {}) {
    const { maxAge, expires, ...fixed } = options as CookieOptions;
    if (maxAge !== undefined || expires !== undefined) {
      throw new TypeError(
        'CookieSerializer takes maxAge per call: leave maxAge and expires out of its options',
      );
    }
    // Validates everything once; the attributes are then cut out of its output.
    const bare = serializeCookie(name, 'x', fixed);
    this.name = name;
    this.#options = fixed;
    this.#clock = options.clock ?? systemClock;
    const sameSite = checkSameSite(options.sameSite);
    const sameSiteText = sameSite ? `; SameSite=${sameSite}` : '';
    let attributes = bare.slice(name.length + 2, bare.length - sameSiteText.length);
    let scope = '';
    for (const prefix of ['; Domain=', '; Path=']) {
      if (!attributes.startsWith(prefix)) continue;
      const end = attributes.indexOf(';', 2);
      const cut = end === -1 ? attributes.length : end;
      scope += attributes.slice(0, cut);
      attributes = attributes.slice(cut);
    }
    this.#scope = scope;
    this.#tail = attributes + sameSiteText;
  }

  /**
   * The `Set-Cookie` value for `value` with `Max-Age` and `Expires` from `maxAge` seconds (none,
   * a browser-session cookie, when `maxAge` is `undefined`).
   *
   * @throws TypeError as `serializeCookie` does (a value with a character above U+00FF, a
   *   non-finite `maxAge`)
   */
  serialize(value: string, maxAge?: number): string {
    // Other values take the general path, which quotes or refuses them.
    if (typeof value !== 'string' || !LEGAL_CHARS.test(value)) {
      return serializeCookie(
        this.name,
        value,
        maxAge === undefined ? this.#options : { ...this.#options, maxAge },
      );
    }
    if (maxAge === undefined) return `${this.name}=${value}${this.#scope}${this.#tail}`;
    const now = this.#clock();
    const second =
      typeof maxAge === 'number' && now instanceof Date
        ? Math.floor(now.getTime() / 1000 + maxAge)
        : Number.NaN;
    if (!Number.isFinite(second) || !Number.isFinite(second * 1000)) {
      return serializeCookie(this.name, value, { ...this.#options, maxAge, clock: () => now });
    }
    if (second !== this.#expiresSecond) {
      const text = new Date(second * 1000).toUTCString();
      if (text === 'Invalid Date') {
        return serializeCookie(this.name, value, { ...this.#options, maxAge, clock: () => now });
      }
      this.#expiresSecond = second;
      this.#expiresText = text;
    }
    // `|| 0` turns -0 into 0, as serializeCookie does.
    return `${this.name}=${value}; Max-Age=${Math.trunc(maxAge) || 0}${this.#scope}; Expires=${this.#expiresText}${this.#tail}`;
  }
}
