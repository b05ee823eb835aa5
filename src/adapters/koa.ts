import type { Middleware } from 'koa';
import type { CookieJar } from '../core/cookie-jar.js';
import { SessionInterrupted } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { cacheControlWithPrivate, openExchange, type SessionHeaders } from './session-exchange.js';

declare module 'koa' {
  interface ExtendableContext {
    /** The request's lazy session, set by keepstate's `sessionMiddleware`. */
    session: Session;
    /** The request's cookies and the response's cookie helpers (Koa's own are `ctx.cookies`). */
    cookieJar: CookieJar;
  }
}

/**
 * Koa middleware that sets `ctx.session` (the lazy session) and `ctx.cookieJar` (Django's
 * cookie helpers), and after `await next()` saves the session and adds `Set-Cookie` and `Vary`
 * before Koa writes the response.
 *
 * Failures go to Koa's error handling, which drops the response's headers: a session deleted by
 * a concurrent request as `ctx.throw(400, 'Session interrupted', { cause })` (the cause is the
 * {@link SessionInterrupted}), a store that fails or times out as the {@link StoreError} itself,
 * whose `status` 503 Koa answers with (while loading in the handler or saving here; under the
 * manager's `failOpen` a failing store gives an anonymous session instead). A handler that
 * throws saves nothing. A handler that writes `ctx.res` itself
 * (`ctx.respond = false`) is never committed in time.
 *
 * @example
 * const app = new Koa();
 * app.use(sessionMiddleware(manager));
 * app.use(async (ctx) => {
 *   await ctx.session.set('visits', ((await ctx.session.get('visits', 0)) as number) + 1);
 *   ctx.body = 'hello';
 * });
 */
export function sessionMiddleware<T extends SessionData>(manager: SessionManager<T>): Middleware {
  return async (ctx, next) => {
    const { session, cookieJar, commit } = openExchange(manager, ctx.get('Cookie'));
    ctx.session = session as Session;
    ctx.cookieJar = cookieJar;
    await next();
    let headers: SessionHeaders;
    try {
      headers = await commit(ctx.status);
    } catch (error) {
      // An exposed 4xx: Koa sends its message and does not log a stack for an expected race.
      if (error instanceof SessionInterrupted)
        ctx.throw(400, 'Session interrupted', { cause: error });
      throw error;
    }
    for (const value of headers.setCookie) ctx.append('Set-Cookie', value);
    if (headers.vary) ctx.vary('Cookie');
    if (headers.cacheControlPrivate) {
      ctx.set('Cache-Control', cacheControlWithPrivate(ctx.response.get('Cache-Control')));
    }
  };
}
