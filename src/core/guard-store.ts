import { StoreError } from './errors.js';
import type { ClearExpiredOptions, SessionRecord, SessionStore } from './session-store.js';

/** Options of {@link guardStore}. */
export interface StoreGuardOptions {
  /** Seconds a store call may take before it fails with {@link StoreError}. */
  readonly timeout: number;
  /** The salted fingerprint that stands for a session key in messages (`sessionKeyTag`). */
  readonly tag: (sessionKey: string) => string;
}

// How deep the cause chain of a failed call is searched for the session key.
const SCRUB_DEPTH = 5;

/**
 * Wraps a store so that every call the core makes is bounded in time and leaks no credential:
 * the one place where the manager's `storeTimeout` applies, whatever the store.
 *
 * - A call that has not settled after `timeout` seconds rejects with a {@link StoreError} (a hung
 *   backend, a client that queues commands while it reconnects). Its late result is ignored,
 *   and a late rejection is handled, so it can never crash the process.
 * - Whatever a call rejects with keeps its type (`CreateError`, `UpdateError`, `StoreError`,
 *   `CookieTooLarge`, ...), but every occurrence of the session key or cookie value it was
 *   given is replaced with its tag, in the error's own text and in its causes' (a driver's
 *   message such as MySQL's `Duplicate entry '<key>'` quotes it).
 *
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html#data-to-exclude
 */
export function guardStore(store: SessionStore, options: StoreGuardOptions): SessionStore {
  const milliseconds = options.timeout * 1000;
  const className = store.constructor?.name;
  const storeName = className && className !== 'Object' ? className : 'the session store';
  // One sweeping timer for every call in flight, not a timer per call: a store call is on the
  // hot path of every request that touches its session, and a timer each costs a timer-list
  // insert, a closure and a Promise.race. A deadline is noticed within `sweepEvery` of passing.
  const sweepEvery = Math.min(250, Math.max(10, milliseconds / 2));
  const inFlight = new Set<{ deadline: number; expire: () => void }>();
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const pending of inFlight) {
      if (pending.deadline > now) continue;
      inFlight.delete(pending);
      pending.expire();
    }
    if (inFlight.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const call = <R>(action: string, sessionKey: string, run: () => Promise<R>): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      const pending = {
        deadline: Date.now() + milliseconds,
        expire() {
          const tag = sessionKey === '' ? '' : `, session ${options.tag(sessionKey)}`;
          reject(
            new StoreError(
              `keepstate: ${storeName} did not ${action} within ${options.timeout} seconds (storeTimeout${tag})`,
            ),
          );
        },
      };
      inFlight.add(pending);
      // Kept referenced while calls are in flight (as a timer per call would be), and cleared
      // once none are.
      sweeper ??= setInterval(sweep, sweepEvery);
      let result: Promise<R>;
      try {
        result = run();
      } catch (error) {
        result = Promise.reject(error);
      }
      // Settling after the deadline is a no-op, and a late rejection is handled here, so it can
      // never crash the process.
      result.then(
        (value) => {
          inFlight.delete(pending);
          resolve(value);
        },
        (error: unknown) => {
          inFlight.delete(pending);
          if (sessionKey !== '') scrub(error, sessionKey, `[session ${options.tag(sessionKey)}]`);
          reject(error);
        },
      );
    });
  return {
    load: (sessionKey) => call('load a session', sessionKey, () => store.load(sessionKey)),
    create: (record: SessionRecord) =>
      call('create a session', record.sessionKey, () => store.create(record)),
    save: (record: SessionRecord) =>
      call('save a session', record.sessionKey, () => store.save(record)),
    delete: (sessionKey) => call('delete a session', sessionKey, () => store.delete(sessionKey)),
    exists: (sessionKey) => call('check a session', sessionKey, () => store.exists(sessionKey)),
    clearExpired: (clearOptions?: ClearExpiredOptions) =>
      call('clear expired sessions', '', () => store.clearExpired(clearOptions)),
  };
}

/** Replaces `secret` in every string property of `error`, its causes and aggregated errors. */
function scrub(error: unknown, secret: string, replacement: string, depth = 0): void {
  if (depth > SCRUB_DEPTH || typeof error !== 'object' || error === null) return;
  const record = error as Record<string, unknown>;
  for (const name of ['message', 'stack', ...Object.keys(record)]) {
    const value = record[name];
    if (typeof value === 'string' && value.includes(secret)) {
      try {
        record[name] = value.replaceAll(secret, replacement);
      } catch {
        // A frozen error or a read-only property: nothing more can be done here.
      }
    }
  }
  scrub(record.cause, secret, replacement, depth + 1);
  if (Array.isArray(record.errors)) {
    for (const inner of record.errors) scrub(inner, secret, replacement, depth + 1);
  }
}
