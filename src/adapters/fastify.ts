import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { CookieJar } from '../core/cookie-jar.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import {
  cacheControlWithPrivate,
  failureOf,
  openExchange,
  type SessionExchange,
  type SessionHeaders,
  varyWithCookie,
} from './session-exchange.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's lazy session, set by keepstate's `sessionPlugin`. */
    session: Session;
    /** The request's cookies and the reply's cookie helpers, set by `sessionPlugin`. */
    cookieJar: CookieJar;
  }
}

/** The options of {@link sessionPlugin}. */
export interface SessionPluginOptions {
  /** The manager that opens and commits every request's session. */
  readonly manager: SessionManager<SessionData>;
}

/**
 * Fastify 5 plugin that gives every request `request.session` (the lazy session) and
 * `request.cookieJar` (Django's cookie helpers), opened in `onRequest`, and saves the session in
 * `onSend`, so `Set-Cookie` and `Vary` are on the reply before it leaves, redirects included.
 * Registered through fastify-plugin, it applies to the whole instance it is registered on.
 *
 * A session deleted by a concurrent request, or a store that fails or times out while saving,
 * goes to Fastify's error handling with status 400 ({@link SessionInterrupted}) or 503
 * ({@link StoreError}) and none of the reply's headers. A handler that throws saves nothing; a
 * `StoreError` it throws (the store failed while loading) carries `status` 503, which Fastify
 * answers with. Under the manager's `failOpen` a failing store gives an anonymous session
 * instead. A hijacked reply is never committed.
 *
 * @example
 * const app = Fastify();
 * await app.register(sessionPlugin, { manager });
 * app.get('/', async (request) => {
 *   const visits = ((await request.session.get('visits', 0)) as number) + 1;
 *   await request.session.set('visits', visits);
 *   return { visits };
 * });
 */
export const sessionPlugin = fp<SessionPluginOptions>(
  async (app, { manager }) => {
    app.decorateRequest('session', null as unknown as Session);
    app.decorateRequest('cookieJar', null as unknown as CookieJar);
    // The exchange rides on the request (a decorated slot, so every request has the same
    // shape); callback-style hooks, so a read costs no promise.
    app.decorateRequest(EXCHANGE, null);
    app.addHook('onRequest', (request, _reply, done) => {
      const exchange = openExchange(manager, request.headers.cookie);
      (request as ExchangeRequest)[EXCHANGE] = exchange;
      request.session = exchange.session;
      request.cookieJar = exchange.cookieJar;
      done();
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      const exchange = (request as ExchangeRequest)[EXCHANGE];
      // An error response goes through onSend again: commit only once.
      if (exchange === null) {
        done(null, payload);
        return;
      }
      (request as ExchangeRequest)[EXCHANGE] = null;
      let decided: SessionHeaders | Promise<SessionHeaders>;
      try {
        decided = exchange.commit(reply.statusCode);
      } catch (error) {
        fail(reply, error, done);
        return;
      }
      // Only a save waits: the common answer is settled here, with no closure per request.
      if (!(decided instanceof Promise)) {
        send(reply, decided, payload, done);
        return;
      }
      decided.then(
        (headers) => send(reply, headers, payload, done),
        (error: unknown) => fail(reply, error, done),
      );
    });
  },
  { name: 'keepstate', fastify: '5.x' },
);

const EXCHANGE = Symbol('keepstate.exchange');

type ExchangeRequest = FastifyRequest & {
  [EXCHANGE]: SessionExchange<SessionData> | null;
};

type OnSendDone = (error: Error | null, payload?: unknown) => void;

function send(
  reply: FastifyReply,
  headers: SessionHeaders,
  payload: unknown,
  done: OnSendDone,
): void {
  try {
    addHeaders(reply, headers);
  } catch (error) {
    fail(reply, error, done);
    return;
  }
  done(null, payload);
}

function fail(reply: FastifyReply, error: unknown, done: OnSendDone): void {
  // Fastify's error path keeps the reply's headers and a status already set (a redirect's 302
  // would win over the error's): clear both.
  for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
  reply.code(failureOf(error).status);
  done(error as Error);
}

function addHeaders(
  reply: FastifyReply,
  { setCookie, vary, cacheControlPrivate }: SessionHeaders,
): void {
  for (const value of setCookie) reply.header('set-cookie', value);
  const varied = vary ? varyWithCookie(reply.getHeader('vary')) : null;
  if (varied !== null) reply.header('vary', varied);
  if (cacheControlPrivate) {
    reply.header('cache-control', cacheControlWithPrivate(reply.getHeader('cache-control')));
  }
}
