import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { CookieJar } from '../core/cookie-jar.js';
import { SessionInterrupted } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { withSessionHeaders } from './response-headers.js';
import { openExchange, type SessionHeaders } from './session-exchange.js';

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
 * {@link SessionInterrupted}; a store that fails while saving rethrows its error. Both reach
 * `app.onError` with none of the handler's response headers. A handler that throws saves
 * nothing (Hono's error response is a 500).
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
    let headers: SessionHeaders;
    try {
      headers = await commit(c.res.status);
    } catch (error) {
      // Hono builds the error response on the current one (its headers, and those of the
      // handler's c.header() calls): start it from an empty response instead.
      c.res = undefined;
      c.res = new Response(null);
      if (error instanceof SessionInterrupted) {
        throw new HTTPException(400, { message: 'Session interrupted', cause: error });
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
