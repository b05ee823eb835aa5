import type { RequestHandler } from 'express';
import type { CookieJar } from '../core/cookie-jar.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { holdHeaders } from './hold-headers.js';
import { openExchange } from './session-exchange.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's lazy session, set by keepstate's `sessionMiddleware`. */
    session: Session;
    /** The request's cookies and the response's cookie helpers, set by `sessionMiddleware`. */
    cookieJar: CookieJar;
  }
}

/**
 * Express 5 middleware that gives every later handler `req.session` (the lazy session) and
 * `req.cookieJar` (Django's cookie helpers), and saves the session before the response headers
 * leave. It holds `writeHead`/`write`/`end` as `keepstate/node` does, so `res.redirect()` after
 * a `session.set()` carries the cookie and the record is stored first (the race of
 * express-session cannot happen), and `Set-Cookie`/`Vary` merge with the handler's headers.
 *
 * A session deleted by a concurrent request answers 400 ({@link SessionInterrupted}), a store
 * that fails or times out while saving answers 503 ({@link StoreError}), both with a plain body
 * and none of the handler's headers. A handler that throws goes to Express's error handling,
 * which answers a `StoreError` (the store failed while loading) with its `status`, 503, and
 * saves nothing on any 5xx. Under the manager's `failOpen` a failing store gives an anonymous
 * session instead. `Cache-Control: private` is merged in when the manager asks for it.
 *
 * @example
 * const app = express();
 * app.use(sessionMiddleware(manager));
 * app.post('/login', async (req, res) => {
 *   await req.session.cycleKey();
 *   await req.session.set('user', req.body.user);
 *   res.redirect('/');
 * });
 */
export function sessionMiddleware<T extends SessionData>(
  manager: SessionManager<T>,
): RequestHandler {
  return (req, res, next) => {
    const { session, cookieJar, commit } = openExchange(manager, req.headers.cookie);
    req.session = session as Session;
    req.cookieJar = cookieJar;
    holdHeaders(res, commit);
    next();
  };
}
