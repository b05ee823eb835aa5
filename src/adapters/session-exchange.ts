import { readCookie } from '../cookies/parse-cookie.js';
import { CookieJar } from '../core/cookie-jar.js';
import { SessionInterrupted, StoreError } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionCommit, SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';

/** What a response must carry once the session is committed. */
export interface SessionHeaders {
  /** `Set-Cookie` values to add: the handler's cookies, then the session cookie. */
  readonly setCookie: readonly string[];
  /** Whether `Cookie` must be added to `Vary`. */
  readonly vary: boolean;
  /** Whether `private` must be merged into `Cache-Control` ({@link cacheControlWithPrivate}). */
  readonly cacheControlPrivate: boolean;
}

/** One request's session and cookies, and the one call that settles them. */
export interface SessionExchange<T extends SessionData> {
  readonly session: Session<T>;
  readonly cookieJar: CookieJar;
  /**
   * Saves the session as {@link SessionManager.commit} decides for `status` and returns the
   * headers to add: at once when nothing is saved, else a promise. Call it once, before the
   * response headers leave.
   *
   * @throws SessionInterrupted when a concurrent request deleted the session
   * @throws StoreError when the store failed or timed out (answer 503), or the store's own
   *   error when saving failed otherwise
   */
  commit(status: number): SessionHeaders | Promise<SessionHeaders>;
}

// The answers that carry no cookie: shared, since most requests end with one of them.
const NONE: readonly string[] = Object.freeze([]);
const UNCHANGED: readonly SessionHeaders[] = [false, true].flatMap((vary) =>
  [false, true].map((cacheControlPrivate) =>
    Object.freeze({ setCookie: NONE, vary, cacheControlPrivate }),
  ),
);

/**
 * Opens the session and cookie jar of a request from its `Cookie` header: the framework-free
 * start of every adapter. Only the session cookie is read, with Django's rules; the jar parses
 * the whole header when the handler first reads its cookies.
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
  const name = manager.options.cookieName;
  const value = readCookie(cookieHeader, name);
  const session = manager.openValue(value);
  const cookieJar = new CookieJar(cookieHeader, manager.options);
  const withOwn = (decided: SessionCommit): SessionHeaders => headersOf(decided, cookieJar, name);
  return {
    session,
    cookieJar,
    commit(status) {
      const decided = manager.commit(session, status);
      return decided instanceof Promise ? decided.then(withOwn) : withOwn(decided);
    },
  };
}

function headersOf(
  { setCookie, vary, cacheControlPrivate }: SessionCommit,
  cookieJar: CookieJar,
  name: string,
): SessionHeaders {
  if (!cookieJar.hasSetCookieHeaders) {
    if (setCookie === null) return UNCHANGED[(vary ? 2 : 0) + (cacheControlPrivate ? 1 : 0)]!;
    return { setCookie: [setCookie], vary, cacheControlPrivate };
  }
  const own = cookieJar.setCookieHeaders;
  if (setCookie === null) return { setCookie: own, vary, cacheControlPrivate };
  // Django's response keeps one cookie per name: the middleware's session cookie replaces a
  // handler's cookie of the same name.
  const sessionCookie = `${name}=`;
  return {
    setCookie: [...own.filter((header) => !header.startsWith(sessionCookie)), setCookie],
    vary,
    cacheControlPrivate,
  };
}

/**
 * The `Vary` value with `Cookie` added, or `null` when `current` already names `Cookie` or `*`.
 *
 * @example
 * varyWithCookie('Accept-Encoding'); // 'Accept-Encoding, Cookie'
 */
export function varyWithCookie(current: unknown): string | null {
  // A response without a Vary yet, almost every one: no splitting.
  if (current === undefined || current === null) return 'Cookie';
  const text = Array.isArray(current) ? current.join(', ') : String(current);
  const fields = text.split(',').map((field) => field.trim().toLowerCase());
  if (fields.includes('cookie') || fields.includes('*')) return null;
  return text.trim() === '' ? 'Cookie' : `${text}, Cookie`;
}

/**
 * The `Cache-Control` value with `private` merged in, as Django's
 * `patch_cache_control(response, private=True)` merges it: directives are split on commas,
 * their names lower-cased, kept in order with their values (every `no-cache` value is kept),
 * `public` is dropped, and `private` is set (in its place when it was there, last otherwise).
 *
 * @example
 * cacheControlWithPrivate('Public, max-age=60'); // 'max-age=60, private'
 * cacheControlWithPrivate(undefined); // 'private'
 * @see https://github.com/django/django/blob/stable/5.2.x/django/utils/cache.py
 */
export function cacheControlWithPrivate(current: unknown): string {
  const text = Array.isArray(current)
    ? current.join(', ')
    : current === undefined || current === null
      ? ''
      : String(current);
  const directives = new Map<string, (string | true)[]>();
  if (text.trim() !== '') {
    for (const field of text.trim().split(/\s*,\s*/)) {
      const equals = field.indexOf('=');
      const name = (equals === -1 ? field : field.slice(0, equals)).toLowerCase();
      const value = equals === -1 ? true : field.slice(equals + 1);
      const values = name === 'no-cache' ? (directives.get(name) ?? []) : [];
      if (!values.includes(value)) values.push(value);
      directives.set(name, values);
    }
  }
  directives.delete('public');
  directives.set('private', [true]);
  const fields: string[] = [];
  for (const [name, values] of directives) {
    // Django's set of no-cache values: a bare no-cache covers every field-named one.
    const kept = values.includes(true) ? [true] : values;
    for (const value of kept) fields.push(value === true ? name : `${name}=${value}`);
  }
  return fields.join(', ');
}

/**
 * The plain answer to an error from a session: 400 for {@link SessionInterrupted}, 503 for a
 * {@link StoreError} (the store failed or timed out: fail closed), 500 for anything else. The
 * body never carries the error's message.
 */
export function failureOf(error: unknown): { readonly status: number; readonly body: string } {
  if (error instanceof SessionInterrupted)
    return { status: error.status, body: 'Session interrupted' };
  if (error instanceof StoreError) return { status: error.status, body: 'Service Unavailable' };
  return { status: 500, body: 'Internal Server Error' };
}
