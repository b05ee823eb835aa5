import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { SessionInterrupted } from '../core/errors.js';
import {
  cacheControlWithPrivate,
  failureOf,
  type SessionHeaders,
  varyWithCookie,
} from './session-exchange.js';

type Gate = 'open' | 'committing' | 'done' | 'replaced';

/**
 * Makes the first call that would send a node:http response's headers (`writeHead`, `write`,
 * `end` or `flushHeaders`) wait for `commit`, then adds its `Set-Cookie`, `Vary` and
 * `Cache-Control: private` and replays the calls in order. Shared by `keepstate/node` and
 * `keepstate/express`, so a session is saved before a redirect (or any response) leaves.
 *
 * Headers passed to `writeHead` are set on the response at once, so the session's headers merge
 * with them instead of being overridden. When `commit` fails, every header the handler set is
 * dropped and the response becomes a plain 400 ({@link SessionInterrupted}), 503
 * ({@link StoreError}: the store failed or timed out) or 500; whatever the handler writes
 * afterwards is discarded.
 *
 * @returns whether the response has begun (a call was held or sent): a handler that throws
 *   after `res.end()` must not have its response replaced by a 500
 * @example
 * const { session, commit } = openExchange(manager, req.headers.cookie);
 * const started = holdHeaders(res, commit);
 */
export function holdHeaders(
  res: ServerResponse,
  commit: (status: number) => SessionHeaders | Promise<SessionHeaders>,
): () => boolean {
  const { writeHead, write, end, flushHeaders } = res;
  const pending: (() => void)[] = [];
  let gate: Gate = 'open';

  const apply = ({ setCookie, vary, cacheControlPrivate }: SessionHeaders): void => {
    for (const value of setCookie) res.appendHeader('Set-Cookie', value);
    const varied = vary ? varyWithCookie(res.getHeader('Vary')) : null;
    if (varied !== null) res.setHeader('Vary', varied);
    if (cacheControlPrivate) {
      res.setHeader('Cache-Control', cacheControlWithPrivate(res.getHeader('Cache-Control')));
    }
    gate = 'done';
    for (const call of pending) call();
  };
  const fail = (error: unknown): void => {
    const interrupted = error instanceof SessionInterrupted;
    if (!interrupted) console.error('keepstate: saving the session failed', error);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    const { status: failed, body } = failureOf(error);
    res.statusCode = failed;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    // `end` sends the head through the (wrapped) writeHead: let it pass, then drop whatever
    // the handler still writes.
    gate = 'done';
    (end as (this: ServerResponse, body: string) => ServerResponse).call(res, body);
    gate = 'replaced';
  };
  // A decision that needs no save comes back at once and is applied before the held call goes
  // out, in the same tick; only a save waits.
  const release = (status: number): void => {
    gate = 'committing';
    let decided: SessionHeaders | Promise<SessionHeaders>;
    try {
      decided = commit(status);
    } catch (error) {
      fail(error);
      return;
    }
    if (decided instanceof Promise) decided.then(apply, fail);
    else apply(decided);
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
      if (gate === 'open') release(status(args));
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
  return () => gate !== 'open';
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
