import { type DeleteCookieOptions, deleteCookie } from '../cookies/delete-cookie.js';
import { parseCookie } from '../cookies/parse-cookie.js';
import { type CookieOptions, serializeCookie } from '../cookies/serialize-cookie.js';
import { readSignedCookie, setSignedCookie } from '../cookies/signed-cookie.js';
import type { Clock } from '../signing/clock.js';
import { COOKIE_SIZE_LIMIT, checkCookieSize } from './cookie-size.js';

export { COOKIE_SIZE_LIMIT };

/** The secrets and clock a {@link CookieJar} signs and verifies with; a manager's `options` fit. */
export interface CookieJarKeys {
  /** Signs new cookies (Django's `SECRET_KEY`). */
  readonly secret: string | Buffer;
  /** Also accepted when verifying (Django's `SECRET_KEY_FALLBACKS`). */
  readonly fallbackSecrets: readonly (string | Buffer)[];
  /** "Now" for signing timestamps, `maxAge` checks and `Expires`. */
  readonly clock: Clock;
}

/** The options of {@link CookieJar.setSignedCookie}: the cookie attributes plus Django's `salt`. */
export interface SetSignedCookieOptions extends CookieOptions {
  /** Binds the signature to a purpose; `''` by default. */
  salt?: string;
}

/** The options of {@link CookieJar.getSignedCookie}, as Django's `get_signed_cookie` takes them. */
export interface ReadSignedCookieOptions {
  /** The salt the cookie was set with; `''` by default. */
  salt?: string;
  /** Refuse signatures older than this many seconds; no limit by default. */
  maxAge?: number;
  /** Also accept the pre-5.2.15 salt `name + salt` (`true` by default, as in Django). */
  legacySaltFallback?: boolean;
}

/**
 * One request's cookies and the cookies its response will set: Django's `request.COOKIES`,
 * `request.get_signed_cookie`, `response.set_cookie`, `response.set_signed_cookie` and
 * `response.delete_cookie`, without a framework. Every adapter hands one to the handler and
 * writes {@link setCookieHeaders} onto the response when the session is committed.
 *
 * `cookies` follows Django's `parse_cookie` (the last of a repeated name wins, quoted values are
 * unquoted, nothing is percent-decoded). As in Django's `response.cookies`, setting a name twice
 * sends only the last value. Signing uses the keys it was made with, so a jar made from a
 * `SessionManager`'s options signs with its `secret` and accepts its `fallbackSecrets`.
 *
 * @example
 * const jar = new CookieJar(parseCookie(req.headers.cookie), manager.options);
 * const theme = jar.getSignedCookie('theme', { salt: 'ui' }) ?? 'light';
 * jar.setSignedCookie('theme', 'dark', { salt: 'ui', maxAge: 365 * 86400 });
 * res.setHeader('Set-Cookie', jar.setCookieHeaders);
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpRequest.COOKIES
 */
export class CookieJar {
  #cookies: Readonly<Record<string, string>> | null;
  #header: string | null | undefined;
  readonly #keys: CookieJarKeys;
  #outgoing: Map<string, string> | null = null;

  /**
   * @param cookies - the request's cookies, as `parseCookie` returns them, or the raw `Cookie`
   *   header (or `null`/`undefined` when there is none), parsed only when first read
   */
  constructor(
    cookies: Readonly<Record<string, string>> | string | null | undefined,
    keys: CookieJarKeys,
  ) {
    if (cookies !== null && typeof cookies === 'object') {
      this.#cookies = cookies;
      this.#header = undefined;
    } else {
      this.#cookies = null;
      this.#header = cookies;
    }
    this.#keys = keys;
  }

  /** The request's cookies, name to value (a `null`-prototype record), parsed on first read. */
  get cookies(): Readonly<Record<string, string>> {
    if (this.#cookies === null) {
      this.#cookies = parseCookie(this.#header);
      this.#header = undefined;
    }
    return this.#cookies;
  }

  /**
   * The verified value of a signed request cookie, or `undefined` when it is missing, tampered
   * with, signed for another name, salt or secret, or older than `maxAge` seconds: Django's
   * `get_signed_cookie(name, default=None, ...)`. Untrusted input never throws.
   */
  getSignedCookie(name: string, options: ReadSignedCookieOptions = {}): string | undefined {
    const { secret, fallbackSecrets, clock } = this.#keys;
    return readSignedCookie(this.cookies, name, { ...options, secret, fallbackSecrets, clock });
  }

  /**
   * Sets a cookie on the response with Django's `set_cookie` rules (`maxAge` in seconds), and
   * the prefix rules browsers enforce (see `serializeCookie`).
   *
   * @throws TypeError when the name, the value or an option is invalid, naming it (never the
   *   value)
   * @throws CookieTooLarge when the `Set-Cookie` would pass {@link COOKIE_SIZE_LIMIT} bytes
   */
  setCookie(name: string, value: string, options: CookieOptions = {}): void {
    this.#set(name, serializeCookie(name, value, { clock: this.#keys.clock, ...options }));
  }

  /**
   * Sets a cookie signed as Django's `set_signed_cookie` signs it, readable by
   * {@link getSignedCookie} here and by `request.get_signed_cookie` in Django.
   *
   * @throws TypeError when the name, the value or an option is invalid, naming it
   * @throws CookieTooLarge when the `Set-Cookie` would pass {@link COOKIE_SIZE_LIMIT} bytes
   */
  setSignedCookie(name: string, value: string, options: SetSignedCookieOptions = {}): void {
    const { secret, clock } = this.#keys;
    this.#set(name, setSignedCookie(name, value, { clock, ...options, secret }));
  }

  /**
   * Makes the browser delete a cookie, as Django's `delete_cookie`; `path` and `domain` must be
   * those the cookie was set with.
   *
   * @throws TypeError when the name or an option is invalid, as for a `__Host-` cookie with a
   *   `domain`
   */
  deleteCookie(name: string, options: DeleteCookieOptions = {}): void {
    this.#outgoing ??= new Map();
    this.#outgoing.set(name, deleteCookie(name, options));
  }

  /** The `Set-Cookie` values the response must carry, one per name, in the order first set. */
  get setCookieHeaders(): string[] {
    return this.#outgoing === null ? [] : [...this.#outgoing.values()];
  }

  /** Whether any `Set-Cookie` was set: {@link setCookieHeaders} is not empty. */
  get hasSetCookieHeaders(): boolean {
    return this.#outgoing !== null && this.#outgoing.size > 0;
  }

  #set(name: string, header: string): void {
    checkCookieSize(
      name,
      Buffer.byteLength(header),
      ': store less in it, or keep the data on the server',
    );
    this.#outgoing ??= new Map();
    this.#outgoing.set(name, header);
  }
}
