import {
  COOKIE_SIZE_LIMIT,
  checkCookieSize,
  SESSION_COOKIE_ADVICE,
  sessionCookieBytes,
} from '../core/cookie-size.js';
import { EXPIRY_KEY, ownExpiryTime } from '../core/expiry.js';
import type { SessionCodec } from '../core/session-codec.js';
import type { SessionRecord, SessionStore, StoreContext } from '../core/session-store.js';
import { StoreBinding } from '../core/store-binding.js';
import { nowMs } from '../signing/clock.js';

/** The salt Django's `signed_cookies` engine signs the cookie with. */
export const SIGNED_COOKIE_SALT = 'django.contrib.sessions.backends.signed_cookies';

export { COOKIE_SIZE_LIMIT };

// A signed value is base64url, `.`, and `:` separators; nothing else can verify, so anything
// else is refused before any crypto runs.
const SIGNED_VALUE = /^[A-Za-z0-9_\-.:]{8,4096}$/;

/**
 * Keeps the whole session in the cookie, signed (not encrypted: the browser can read it) with
 * Django's `signed_cookies` format, so nothing is stored on the server and a Django app with the
 * same secret reads the same cookie.
 *
 * Expiry, beyond Django: the cookie is refused once it is older than `cookieAge` seconds (counted
 * from when it was last signed, as Django does: an age equal to `cookieAge` still passes), and
 * also once the session's own `setExpiry` has passed, which Django ignores (tickets 19201 and
 * 27775): a number of seconds counts from the signing time in the cookie (whole seconds), a
 * `Date` is an absolute instant; either way the session is gone at exactly that instant, and
 * `cookieAge` still caps it. Saving signs the cookie again, so a numeric expiry is an inactivity
 * timeout, as with the server-side stores.
 *
 * Limits: the cookie cannot be revoked. `delete` does nothing, so a copied cookie stays valid
 * until it expires (store a server-side flag, or use a server-side store, to log out for
 * real); `exists` is always `false`, as in Django. The data must fit in one cookie:
 * `create`/`save` throw {@link CookieTooLarge} before anything is sent when the cookie would
 * pass {@link COOKIE_SIZE_LIMIT} bytes.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cookie-based-sessions
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/sessions/backends/signed_cookies.py
 * @see https://code.djangoproject.com/ticket/19201
 * @see https://code.djangoproject.com/ticket/27775
 */
export class SignedCookieStore implements SessionStore {
  /** `true`: a cookie expires by itself, there is nothing on the server to sweep. */
  readonly selfExpiring = true;
  /** The record is the cookie: no call can hang. */
  readonly inProcess: boolean = true;
  readonly #binding = new StoreBinding('SignedCookieStore');
  #codec: SessionCodec | null = null;

  /** Takes the manager's secret (through a codec with the engine's salt), clock, cookie age and name. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
    this.#codec = context.codecFor(SIGNED_COOKIE_SALT);
  }

  /** Whether `value` looks like a signed value (base64url, `.` and `:`; 8 to 4,096 characters). */
  isValidKey(value: string): boolean {
    return SIGNED_VALUE.test(value);
  }

  /**
   * Verifies the cookie value and returns its data, or `null` when the signature does not
   * verify (with a warning on the security logger), the cookie is older than `cookieAge`, or the
   * session's own expiry has passed.
   *
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   */
  async load(value: string): Promise<SessionRecord | null> {
    const { cookieAge, clock } = this.#binding.context;
    // Django's own check, with its boundary: an age equal to `cookieAge` still passes.
    const decoded = this.#signing().decodeWithTimestamp(value, cookieAge);
    if (decoded === null) return null;
    const { data, signedAt } = decoded;
    const capped = signedAt.getTime() + cookieAge * 1000;
    const own = ownExpiryTime(data[EXPIRY_KEY], signedAt.getTime());
    if (own !== null && nowMs(clock) >= own) return null;
    return { sessionKey: value, data, expiresAt: new Date(Math.min(own ?? capped, capped)) };
  }

  /**
   * Signs the data into a cookie value.
   * @throws CookieTooLarge when the cookie would pass {@link COOKIE_SIZE_LIMIT} bytes
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   */
  async create(record: SessionRecord): Promise<string> {
    return this.#sign(record);
  }

  /**
   * Signs the data into a new cookie value; the same as {@link create}, since there is no
   * server-side record that could have vanished.
   * @throws CookieTooLarge when the cookie would pass {@link COOKIE_SIZE_LIMIT} bytes
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   */
  async save(record: SessionRecord): Promise<string> {
    return this.#sign(record);
  }

  /**
   * Does nothing: there is no server-side record. Logging out empties the session, and the
   * manager then deletes the cookie from this browser; a copy of the cookie kept elsewhere stays
   * valid until it expires.
   */
  async delete(_value: string): Promise<void> {}

  /** Always `false`: there is no server-side record, as in Django. */
  async exists(_value: string): Promise<boolean> {
    return false;
  }

  /** Does nothing and returns 0: an expired cookie fails its checks on load; nothing is stored. */
  async clearExpired(): Promise<number> {
    return 0;
  }

  #signing(): SessionCodec {
    // Not attached: the binding throws its ImproperlyConfigured, which names this store.
    return this.#codec ?? this.#binding.context.codecFor(SIGNED_COOKIE_SALT);
  }

  #sign(record: SessionRecord): string {
    const value = this.#signing().encode(record.data);
    const { cookieName, clock } = this.#binding.context;
    const maxAge = (record.expiresAt.getTime() - nowMs(clock)) / 1000;
    checkCookieSize(
      cookieName,
      sessionCookieBytes(cookieName, value, maxAge),
      SESSION_COOKIE_ADVICE,
    );
    return value;
  }
}
