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
  const held = new Held(res, commit);
  (res as HeldResponse)[HELD] = held;
  res.writeHead = heldWriteHead as typeof res.writeHead;
  res.write = heldWrite as typeof res.write;
  res.end = heldEnd as typeof res.end;
  res.flushHeaders = heldFlushHeaders;
  return () => held.gate !== 'open';
}

const HELD = Symbol('keepstate.heldHeaders');

type HeldResponse = ServerResponse & { [HELD]: Held };
type Method = (this: ServerResponse, ...args: unknown[]) => unknown;

/**
 * One response's hold: the original methods, the gate, and the calls waiting for the commit.
 * The wrappers installed on the response are shared by every response and find it under
 * {@link HELD}, so holding allocates this object only (and the queue, when a save is awaited).
 */
class Held {
  gate: Gate = 'open';
  /** Held calls, as method and arguments, in order. */
  pending: (Method | unknown[])[] = [];
  readonly res: ServerResponse;
  readonly commit: (status: number) => SessionHeaders | Promise<SessionHeaders>;
  readonly writeHead: Method;
  readonly write: Method;
  readonly end: Method;
  readonly flushHeaders: Method;

  constructor(
    res: ServerResponse,
    commit: (status: number) => SessionHeaders | Promise<SessionHeaders>,
  ) {
    this.res = res;
    this.commit = commit;
    this.writeHead = res.writeHead as Method;
    this.write = res.write as Method;
    this.end = res.end as Method;
    this.flushHeaders = res.flushHeaders as Method;
  }

  /** Queues a call and, for the first one, starts the commit. */
  hold(method: Method, args: unknown[], status: number): void {
    this.pending.push(method, args);
    if (this.gate !== 'open') return;
    // A decision that needs no save comes back at once and is applied before the held call
    // goes out, in the same tick; only a save waits.
    this.gate = 'committing';
    let decided: SessionHeaders | Promise<SessionHeaders>;
    try {
      decided = this.commit(status);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (decided instanceof Promise) {
      decided.then(
        (headers) => this.apply(headers),
        (error: unknown) => this.fail(error),
      );
    } else this.apply(decided);
  }

  apply({ setCookie, vary, cacheControlPrivate }: SessionHeaders): void {
    const res = this.res;
    for (const value of setCookie) res.appendHeader('Set-Cookie', value);
    const varied = vary ? varyWithCookie(res.getHeader('Vary')) : null;
    if (varied !== null) res.setHeader('Vary', varied);
    if (cacheControlPrivate) {
      res.setHeader('Cache-Control', cacheControlWithPrivate(res.getHeader('Cache-Control')));
    }
    this.gate = 'done';
    const pending = this.pending;
    for (let i = 0; i < pending.length; i += 2) {
      (pending[i] as Method).apply(res, pending[i + 1] as unknown[]);
    }
  }

  fail(error: unknown): void {
    const res = this.res;
    const interrupted = error instanceof SessionInterrupted;
    if (!interrupted) console.error('keepstate: saving the session failed', error);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    const { status: failed, body } = failureOf(error);
    res.statusCode = failed;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    // `end` sends the head through the (wrapped) writeHead: let it pass, then drop whatever
    // the handler still writes.
    this.gate = 'done';
    this.end.call(res, body);
    this.gate = 'replaced';
  }
}

function heldWriteHead(this: HeldResponse, statusCode: number, ...rest: unknown[]): unknown {
  const held = this[HELD];
  if (held.gate === 'done') return held.writeHead.call(this, statusCode, ...rest);
  if (held.gate === 'replaced') return this;
  const hasMessage = typeof rest[0] === 'string';
  if (held.gate === 'open') setHeaders(this, hasMessage ? rest[1] : rest[0]);
  held.hold(held.writeHead, hasMessage ? [statusCode, rest[0]] : [statusCode], statusCode);
  return this;
}

function heldWrite(this: HeldResponse, ...args: unknown[]): unknown {
  const held = this[HELD];
  if (held.gate === 'done') return held.write.apply(this, args);
  if (held.gate !== 'replaced') held.hold(held.write, args, this.statusCode);
  return true;
}

function heldEnd(this: HeldResponse, ...args: unknown[]): unknown {
  const held = this[HELD];
  if (held.gate === 'done') return held.end.apply(this, args);
  if (held.gate !== 'replaced') held.hold(held.end, args, this.statusCode);
  return this;
}

function heldFlushHeaders(this: HeldResponse): void {
  const held = this[HELD];
  if (held.gate === 'done') {
    held.flushHeaders.call(this);
    return;
  }
  if (held.gate !== 'replaced') held.hold(held.flushHeaders, [], this.statusCode);
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
