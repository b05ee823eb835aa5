import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { SessionInterrupted } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionCommit, SessionManager } from '../core/session-manager.js';
import type { SessionData } from '../core/session-store.js';

/** A node:http request handler that also receives the request's session. */
export type SessionRequestHandler<T extends SessionData> = (
  req: IncomingMessage,
  res: ServerResponse,
  session: Session<T>,
) => unknown;

type Gate = 'open' | 'committing' | 'done' | 'replaced';

/**
 * Wraps a node:http handler so it gets the request's lazy session, and the session is saved
 * before the response's headers leave: the first `writeHead`, `write`, `end` or `flushHeaders`
 * waits for {@link SessionManager.commit}, then goes out with its `Set-Cookie` and `Vary`.
 *
 * A session deleted by a concurrent request answers 400 ({@link SessionInterrupted}); a handler
 * that throws, or a store that fails while saving, answers 500 and saves nothing.
 *
 * @example
 * http.createServer(withSession(manager, async (req, res, session) => {
 *   await session.set('visits', ((await session.get('visits')) ?? 0) + 1);
 *   res.end('hello');
 * }));
 */
export function withSession<T extends SessionData>(
  manager: SessionManager<T>,
  handler: SessionRequestHandler<T>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const session = manager.open(req.headers.cookie);
    holdHeaders(res, (status) => manager.commit(session, status));
    try {
      await handler(req, res, session);
    } catch (error) {
      console.error('keepstate: the request handler failed', error);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      }
    }
  };
}

/**
 * Makes every call that would send the headers wait for `commit`, then replays the calls in
 * order. Headers passed to `writeHead` are set on the response at once so that the session's
 * `Set-Cookie` and `Vary` merge with them instead of being overridden.
 */
function holdHeaders(
  res: ServerResponse,
  commit: (status: number) => Promise<SessionCommit>,
): void {
  const { writeHead, write, end, flushHeaders } = res;
  const pending: (() => void)[] = [];
  let gate: Gate = 'open';

  const release = async (status: number): Promise<void> => {
    gate = 'committing';
    try {
      const outcome = await commit(status);
      if (outcome.setCookie !== null) res.appendHeader('Set-Cookie', outcome.setCookie);
      if (outcome.vary) addVaryCookie(res);
      gate = 'done';
      for (const call of pending) call();
    } catch (error) {
      const interrupted = error instanceof SessionInterrupted;
      if (!interrupted) console.error('keepstate: saving the session failed', error);
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.statusCode = interrupted ? error.status : 500;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      // `end` sends the head through the (wrapped) writeHead: let it pass, then drop whatever
      // the handler still writes.
      gate = 'done';
      (end as (this: ServerResponse, body: string) => ServerResponse).call(
        res,
        interrupted ? 'Session interrupted' : 'Internal Server Error',
      );
      gate = 'replaced';
    }
  };

  const hold =
    <A extends unknown[], R>(
      original: (...args: A) => R,
      result: () => R,
      status: (args: A) => number,
    ) =>
    (...args: A): R => {
      if (gate === 'done') return original.apply(res, args);
      if (gate === 'replaced') return result();
      pending.push(() => original.apply(res, args));
      if (gate === 'open') void release(status(args));
      return result();
    };

  const sendHead = writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  res.writeHead = ((statusCode: number, ...rest: unknown[]) => {
    if (gate === 'done') return sendHead.call(res, statusCode, ...rest);
    const message = typeof rest[0] === 'string' ? [rest[0]] : [];
    if (gate === 'open') setHeaders(res, typeof rest[0] === 'string' ? rest[1] : rest[0]);
    return hold(
      () => sendHead.call(res, statusCode, ...message),
      () => res,
      () => statusCode,
    )();
  }) as typeof res.writeHead;
  res.write = hold(
    write,
    () => true,
    () => res.statusCode,
  ) as typeof res.write;
  res.end = hold(
    end,
    () => res,
    () => res.statusCode,
  ) as typeof res.end;
  res.flushHeaders = hold(
    flushHeaders,
    () => undefined,
    () => res.statusCode,
  );
}

function setHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      res.appendHeader(String(headers[i]), String(headers[i + 1]));
  } else if (headers !== null && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}

/** Adds `Cookie` to the response's `Vary` header unless it is there already (or `*`). */
function addVaryCookie(res: ServerResponse): void {
  const current = res.getHeader('Vary');
  const text = Array.isArray(current)
    ? current.join(', ')
    : current === undefined
      ? ''
      : String(current);
  const fields = text.split(',').map((field) => field.trim().toLowerCase());
  if (fields.includes('cookie') || fields.includes('*')) return;
  res.setHeader('Vary', text === '' ? 'Cookie' : `${text}, Cookie`);
}
