import type { Expiry } from '../core/expiry.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';

/** Options of {@link mintSessionCookie}. */
export interface MintSessionCookieOptions {
  /** The session's own expiry, as `session.setExpiry` takes it (seconds, a `Date`, or `null`). */
  readonly expiry?: Expiry;
}

/**
 * Makes a session holding `data` and returns the `Cookie` header value (`name=value`) that a
 * browser would send for it, so a test can start logged in without driving a login form.
 *
 * The session is created the way a request creates one: a new key, saved in the manager's store
 * (for a cookie store such as `SignedCookieStore` or `EncryptedCookieStore`, signed or sealed
 * into the value), with the manager's secret, clock and cookie name. It works with empty `data`
 * too. Join it with other cookies with `; `.
 *
 * @param manager - the manager the app under test uses (the same store, secret and cookie name)
 * @param data - the session's data, e.g. Django's `_auth_user_id`
 * @returns `name=value`, for a request's `Cookie` header
 * @throws what the store throws when saving (`CookieTooLarge`, `StoreError`, ...)
 * @example
 * const cookie = await mintSessionCookie(manager, { _auth_user_id: '42' });
 * const res = await app.request('/account', { headers: { cookie } });
 * @see readSession
 * @see https://docs.djangoproject.com/en/5.2/topics/testing/tools/#django.test.Client.force_login
 */
export async function mintSessionCookie<T extends SessionData>(
  manager: SessionManager<T>,
  data: Partial<T> & SessionData,
  options: MintSessionCookieOptions = {},
): Promise<string> {
  const session = manager.open(null);
  await session.update(data as Partial<T>);
  if (options.expiry !== undefined) await session.setExpiry(options.expiry);
  await session.save();
  // Every store's cookie value is token-safe (a key, base64url, `.` and `:`): no quoting needed.
  return `${manager.options.cookieName}=${session.sessionKey ?? ''}`;
}
