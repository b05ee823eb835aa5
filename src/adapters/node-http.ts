import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CookieJar } from '../core/cookie-jar.js';
import type { Session } from '../core/session.js';
import type { SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';
import { holdHeaders } from './hold-headers.js';
import { failureOf, openExchange } from './session-exchange.js';

/** A node:http request handler that also receives the request's session and cookie jar. */
export type SessionRequestHandler<T extends SessionData> = (
  req: IncomingMessage,
  res: ServerResponse,
  session: Session<T>,
  cookieJar: CookieJar,
) => unknown;

/**
 * Wraps a node:http handler so it gets the request's lazy session and {@link CookieJar}, and the
 * session is saved before the response's headers leave: the first `writeHead`, `write`, `end` or
 * `flushHeaders` waits for {@link SessionManager.commit}, then goes out with its `Set-Cookie` and
 * `Vary`.
 *
 * A session deleted by a concurrent request answers 400 ({@link SessionInterrupted}); a store
 * that fails or times out, while loading or saving, answers 503 ({@link StoreError}, unless the
 * manager fails open); any other error of the handler answers 500. None of them saves anything.
 *
 * @example
 * http.createServer(withSession(manager, async (req, res, session, cookieJar) => {
 *   await session.set('visits', ((await session.get('visits')) ?? 0) + 1);
 *   cookieJar.setCookie('seen', 'yes', { maxAge: 3600 });
 *   res.end('hello');
 * }));
 */
export function withSession<T extends SessionData>(
  manager: SessionManager<T>,
  handler: SessionRequestHandler<T>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return (req, res) => {
    const { session, cookieJar, commit } = openExchange(manager, req.headers.cookie);
    const started = holdHeaders(res, commit);
    // A handler that answers synchronously costs no trip through the microtask queue.
    let result: unknown;
    try {
      result = handler(req, res, session, cookieJar);
    } catch (error) {
      answerFailure(res, started, error);
      return DONE;
    }
    if (!isThenable(result)) return DONE;
    return Promise.resolve(result).then(ignore, (error: unknown) =>
      answerFailure(res, started, error),
    );
  };
}

const DONE: Promise<void> = Promise.resolve();
const ignore = (): void => {};

function answerFailure(res: ServerResponse, started: () => boolean, error: unknown): void {
  console.error('keepstate: the request handler failed', error);
  if (started()) return;
  const { status, body } = failureOf(error);
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(body);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
