import type { CookieJar } from '../core/cookie-jar.js';
import { SessionInterrupted, StoreError } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { isResponse, withSessionHeaders } from './response-headers.js';
import { failureOf, openExchange } from './session-exchange.js';

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
 * store that fails or times out, while the handler loads or while saving, a plain 503
 * ({@link StoreError}; under the manager's `failOpen` a failing store gives an anonymous session
 * instead). Any other error of the handler or of saving rethrows to the platform, and saves
 * nothing. A thrown `Response` (React Router's `throw redirect()`) is committed like a returned
 * one and thrown again.
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
      if (error instanceof StoreError) response = plain(error);
      else if (isResponse(error)) {
        response = error;
        thrown = true;
      } else throw error;
    }
    try {
      response = withSessionHeaders(response, await commit(response.status));
    } catch (error) {
      if (!(error instanceof SessionInterrupted || error instanceof StoreError)) throw error;
      return plain(error);
    }
    if (thrown) throw response;
    return response;
  };
}

function plain(error: unknown): Response {
  const { status, body } = failureOf(error);
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}
