import { parseCookie } from '../cookies/parse-cookie.js';
import { CookieJar } from '../core/cookie-jar.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';

/** What a response must carry once the session is committed. */
export interface SessionHeaders {
  /** `Set-Cookie` values to add: the handler's cookies, then the session cookie. */
  readonly setCookie: readonly string[];
  /** Whether `Cookie` must be added to `Vary`. */
  readonly vary: boolean;
}

/** One request's session and cookies, and the one call that settles them. */
export interface SessionExchange<T extends SessionData> {
  readonly session: Session<T>;
  readonly cookieJar: CookieJar;
  /**
   * Saves the session as {@link SessionManager.commit} decides for `status` and returns the
   * headers to add. Call it once, before the response headers leave.
   *
   * @throws SessionInterrupted when a concurrent request deleted the session
   * @throws StoreError (or the store's own error) when saving failed
   */
  commit(status: number): Promise<SessionHeaders>;
}

/**
 * Opens the session and cookie jar of a request from its `Cookie` header: the framework-free
 * start of every adapter. The header is parsed once, with Django's rules, for both.
 *
 * @example
 * const { session, cookieJar, commit } = openExchange(manager, req.headers.cookie);
 * await handler(session, cookieJar);
 * const { setCookie, vary } = await commit(res.statusCode);
 */
export function openExchange<T extends SessionData>(
  manager: SessionManager<T>,
  cookieHeader: string | null | undefined,
): SessionExchange<T> {
  const cookies = parseCookie(cookieHeader);
  const session = manager.open(cookies);
  const cookieJar = new CookieJar(cookies, manager.options);
  const sessionCookie = `${manager.options.cookieName}=`;
  return {
    session,
    cookieJar,
    async commit(status) {
      const { setCookie, vary } = await manager.commit(session, status);
      const own = cookieJar.setCookieHeaders;
      if (setCookie === null) return { setCookie: own, vary };
      // Django's response keeps one cookie per name: the middleware's session cookie replaces a
      // handler's cookie of the same name.
      return {
        setCookie: [...own.filter((value) => !value.startsWith(sessionCookie)), setCookie],
        vary,
      };
    },
  };
}

/**
 * The `Vary` value with `Cookie` added, or `null` when `current` already names `Cookie` or `*`.
 *
 * @example
 * varyWithCookie('Accept-Encoding'); // 'Accept-Encoding, Cookie'
 */
export function varyWithCookie(current: unknown): string | null {
  const text = Array.isArray(current)
    ? current.join(', ')
    : current === undefined || current === null
      ? ''
      : String(current);
  const fields = text.split(',').map((field) => field.trim().toLowerCase());
  if (fields.includes('cookie') || fields.includes('*')) return null;
  return text.trim() === '' ? 'Cookie' : `${text}, Cookie`;
}
