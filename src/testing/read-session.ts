import { parseCookie } from '../cookies/parse-cookie.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { type Clock, nowMs } from '../signing/clock.js';

/** Response headers as Node.js and its test tools give them (names in any case). */
export type HeaderRecord = Readonly<
  Record<string, string | readonly string[] | number | undefined>
>;

/**
 * Where {@link readSession} finds `Set-Cookie` headers: one value or several; a web `Response`
 * or its `Headers` (`fetch`, Hono's `app.request`, a web handler); a header record
 * (`res.getHeaders()`, `IncomingMessage.headers`); or anything with such `headers` (Fastify's
 * `app.inject`, light-my-request, supertest).
 */
export type SetCookieSource =
  | string
  | readonly string[]
  | Headers
  | Response
  | HeaderRecord
  | { readonly headers: Headers | HeaderRecord };

/**
 * Reads the session a response points its browser at: the data behind the session cookie of its
 * `Set-Cookie` headers, loaded through `manager` (its store, secret and clock), so a test can
 * check what a request stored without a second request.
 *
 * When several `Set-Cookie` headers name the session cookie the last wins, as in a browser.
 *
 * @param manager - the manager the app under test uses
 * @param source - the response, its headers, or the `Set-Cookie` values
 * @returns the session's data; `null` when the response set no session cookie, deleted it (an
 *   empty value, `Max-Age` of 0 or less, or an `Expires` already past by the manager's clock), or
 *   points at no live session
 * @example
 * const res = await app.request('/login', { method: 'POST', body: form });
 * assert.equal((await readSession(manager, res))?._auth_user_id, '42');
 * @see mintSessionCookie
 */
export async function readSession<T extends SessionData>(
  manager: SessionManager<T>,
  source: SetCookieSource,
): Promise<(Partial<T> & SessionData) | null> {
  const { cookieName, clock } = manager.options;
  let value: string | undefined;
  for (const setCookie of setCookiesOf(source)) {
    const [pair = '', ...attributes] = setCookie.split(';');
    const cookies = parseCookie(pair);
    if (!Object.hasOwn(cookies, cookieName)) continue;
    value = deleted(attributes, clock) ? '' : cookies[cookieName];
  }
  if (value === undefined || value === '') return null;
  const session = manager.open({ [cookieName]: value });
  const data = Object.fromEntries(await session.items()) as Partial<T> & SessionData;
  // Loading drops a key that finds no live record: the response pointed at nothing.
  return session.sessionKey === null ? null : data;
}

function setCookiesOf(source: SetCookieSource): string[] {
  if (typeof source === 'string') return [source];
  if (Array.isArray(source)) return source.filter((value) => typeof value === 'string');
  if (typeof (source as Headers).getSetCookie === 'function') {
    return (source as Headers).getSetCookie();
  }
  const { headers } = source as { headers?: unknown };
  if (typeof headers === 'object' && headers !== null) {
    return setCookiesOf(headers as SetCookieSource);
  }
  for (const [name, value] of Object.entries(source as HeaderRecord)) {
    if (name.toLowerCase() === 'set-cookie')
      return setCookiesOf(value === undefined ? [] : (value as string | string[]));
  }
  return [];
}

/** Whether the cookie's attributes delete it: `Max-Age` (which wins, RFC 6265) or `Expires`. */
function deleted(attributes: readonly string[], clock: Clock): boolean {
  let expires: string | undefined;
  for (const attribute of attributes) {
    const equals = attribute.indexOf('=');
    const name = attribute
      .slice(0, equals === -1 ? undefined : equals)
      .trim()
      .toLowerCase();
    const value = equals === -1 ? '' : attribute.slice(equals + 1).trim();
    if (name === 'max-age' && /^-?\d+$/.test(value)) return Number(value) <= 0;
    if (name === 'expires') expires = value;
  }
  const instant = expires === undefined ? Number.NaN : Date.parse(expires);
  return instant <= nowMs(clock);
}
