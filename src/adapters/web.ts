import type { CookieJar } from '../core/cookie-jar.js';
import { SessionInterrupted } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { isResponse, withSessionHeaders } from './response-headers.js';
import { openExchange } from './session-exchange.js';

/** A Web-standard handler that also receives the request's session and cookie jar. */
export type WebSessionHandler<T extends SessionData, A extends unknown[]> = (
  request: Request,
  session: Session<T>,
  cookieJar: CookieJar,
  ...rest: A
) => Response | Promise<Response>;

/**
 * Wraps a `Request` → `Response` handler (Next.js route handlers, React Router, Bun, Deno,
 * Cloudflare) so it gets the request's lazy session and {@link CookieJar}; the returned
 * `Response` gets the session's `Set-Cookie` and `Vary` (on a copy when its headers are
 * immutable, as `Response.redirect()`'s are). Extra arguments, such as Next.js's
 * `{ params }`, are passed through after the cookie jar.
 *
 * A session deleted by a concurrent request answers a plain 400 ({@link SessionInterrupted}); a
 * store that fails while saving rethrows to the platform, and so does a handler that throws,
 * which saves nothing. A thrown `Response` (React Router's `throw redirect()`) is committed like
 * a returned one and thrown again.
 *
 * @example
 * export const POST = withSession(manager, async (request, session) => {
 *   await session.set('user', (await request.formData()).get('user'));
 *   return Response.redirect(new URL('/', request.url), 303);
 * });
 */
export function withSession<T extends SessionData, A extends unknown[] = []>(
  manager: SessionManager<T>,
  handler: WebSessionHandler<T, A>,
): (request: Request, ...rest: A) => Promise<Response> {
  return async (request, ...rest) => {
    const { session, cookieJar, commit } = openExchange(manager, request.headers.get('cookie'));
    let response: Response;
    let thrown = false;
    try {
      response = await handler(request, session, cookieJar, ...rest);
    } catch (error) {
      if (!isResponse(error)) throw error;
      response = error;
      thrown = true;
    }
    try {
      response = withSessionHeaders(response, await commit(response.status));
    } catch (error) {
      if (!(error instanceof SessionInterrupted)) throw error;
      return new Response('Session interrupted', {
        status: error.status,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    }
    if (thrown) throw response;
    return response;
  };
}
