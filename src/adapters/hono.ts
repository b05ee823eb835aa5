import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { CookieJar } from '../core/cookie-jar.js';
import { SessionInterrupted, StoreError } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { withSessionHeaders } from './response-headers.js';
import { failureOf, openExchange, type SessionHeaders } from './session-exchange.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The request's lazy session, set by keepstate's `sessionMiddleware`. */
    session: Session;
    /** The request's cookies and the response's cookie helpers, set by `sessionMiddleware`. */
    cookieJar: CookieJar;
  }
}

/**
 * Hono middleware that sets `c.get('session')` (the lazy session) and `c.get('cookieJar')`
 * (Django's cookie helpers), and after `await next()` saves the session and adds `Set-Cookie`
 * and `Vary` to `c.res` (on a copy when its headers are immutable).
 *
 * A session deleted by a concurrent request becomes an `HTTPException(400)` whose `cause` is the
 * {@link SessionInterrupted}, a store that fails or times out while saving an
 * `HTTPException(503)` whose `cause` is the {@link StoreError}; any other failure to save
 * rethrows its error. All reach `app.onError` with none of the handler's response headers. A
 * handler that throws saves nothing (Hono's error response is a 500), except that a
 * `StoreError` it throws (the store failed while loading) is answered with a plain 503 after
 * `app.onError` has seen it. Under the manager's `failOpen` a failing store gives an anonymous
 * session instead.
 *
 * @example
 * const app = new Hono();
 * app.use(sessionMiddleware(manager));
 * app.get('/', async (c) => {
 *   const session = c.get('session');
 *   await session.set('visits', ((await session.get('visits', 0)) as number) + 1);
 *   return c.text('hello');
 * });
 */
export function sessionMiddleware<T extends SessionData>(
  manager: SessionManager<T>,
): MiddlewareHandler {
  return async (c, next) => {
    const { session, cookieJar, commit } = openExchange(manager, c.req.header('cookie'));
    c.set('session', session as Session);
    c.set('cookieJar', cookieJar);
    await next();
    if (c.error instanceof StoreError) {
      // Hono's compose has already given the error to app.onError (a 500 by default): answer
      // as every adapter does, fail closed.
      const { status, body } = failureOf(c.error);
      c.res = undefined;
      c.res = new Response(body, {
        status,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    }
    let headers: SessionHeaders;
    try {
      headers = await commit(c.res.status);
    } catch (error) {
      // Hono builds the error response on the current one (its headers, and those of the
      // handler's c.header() calls): start it from an empty response instead.
      c.res = undefined;
      c.res = new Response(null);
      if (error instanceof SessionInterrupted || error instanceof StoreError) {
        const { status, body } = failureOf(error);
        throw new HTTPException(status as 400 | 503, { message: body, cause: error });
      }
      throw error;
    }
    const res = withSessionHeaders(c.res, headers);
    if (res !== c.res) {
      // Assigning over a response merges the old one's Set-Cookie back in; drop it first.
      c.res = undefined;
      c.res = res;
    }
  };
}
