import { CreateError, StoreError, UpdateError } from './errors.js';
import type { SecurityLogger } from './security-logger.js';
import type {
  ClearExpiredOptions,
  DeleteUserSessionsOptions,
  LoadedVersion,
  SessionMerge,
  SessionRecord,
  SessionStore,
} from './session-store.js';
import { SPAN_STATUS_ERROR, type Span, type Tracer } from './tracer.js';

/** Options of {@link guardStore}. */
export interface StoreGuardOptions {
  /** Seconds a store call may take before it fails with {@link StoreError}. */
  readonly timeout: number;
  /** The salted fingerprint that stands for a session key in messages (`sessionKeyTag`). */
  readonly tag: (sessionKey: string) => string;
  /** Told of each failed call, as a `storeError` event. */
  readonly logger?: SecurityLogger;
  /** Gets a span per call, named `keepstate.<method>`. */
  readonly tracer?: Tracer | undefined;
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
 * A failure other than `CreateError`/`UpdateError` (which are answers, not failures) is also told
 * to the logger's `event` as a `storeError`, and each call is a span of the `tracer`, when given
 * (but not for an `inProcess` store, which gets neither spans nor a deadline).
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
  const { logger } = options;
  const tracer = store.inProcess === true ? undefined : options.tracer;
  // A store in this process's memory cannot hang, its own messages name no key, and a span of a
  // Map lookup tells nobody anything: unless someone listens for events, its calls go straight
  // through, at no cost.
  const direct = store.inProcess === true && logger?.event === undefined;
  const call = <R>(
    method: string,
    action: string,
    sessionKey: string,
    run: () => Promise<R>,
  ): Promise<R> =>
    direct
      ? run()
      : new Promise<R>((resolve, reject) => {
          const span: Span | undefined = tracer?.startSpan(`keepstate.${method}`, {
            attributes: { 'keepstate.store': storeName },
          });
          const fail = (error: unknown) => {
            if (!(error instanceof CreateError || error instanceof UpdateError)) {
              const message = error instanceof Error ? error.message : String(error);
              span?.setStatus({ code: SPAN_STATUS_ERROR, message });
              logger?.event?.({ type: 'storeError', operation: method, error: message });
            }
            span?.end();
            reject(error);
          };
          const pending = {
            deadline: Date.now() + milliseconds,
            expire() {
              const tag = sessionKey === '' ? '' : `, session ${options.tag(sessionKey)}`;
              fail(
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
              if (!inFlight.delete(pending)) return;
              span?.end();
              resolve(value);
            },
            (error: unknown) => {
              if (!inFlight.delete(pending)) return;
              if (sessionKey !== '')
                scrub(error, sessionKey, `[session ${options.tag(sessionKey)}]`);
              fail(error);
            },
          );
        });
  const guarded: SessionStore = {
    load: (sessionKey) => call('load', 'load a session', sessionKey, () => store.load(sessionKey)),
    create: (record: SessionRecord) =>
      call('create', 'create a session', record.sessionKey, () => store.create(record)),
    save: (record: SessionRecord) =>
      call('save', 'save a session', record.sessionKey, () => store.save(record)),
    delete: (sessionKey) =>
      call('delete', 'delete a session', sessionKey, () => store.delete(sessionKey)),
    exists: (sessionKey) =>
      call('exists', 'check a session', sessionKey, () => store.exists(sessionKey)),
    clearExpired: (clearOptions?: ClearExpiredOptions) =>
      call('clearExpired', 'clear expired sessions', '', () => store.clearExpired(clearOptions)),
  };
  // Only what the store has: the core tells from `update`'s presence whether it can merge.
  // (Each is looked up on the store at call time, as the others are.)
  type Full = Required<Pick<SessionStore, 'update' | 'listSessions' | 'deleteUserSessions'>>;
  const full = store as SessionStore & Full;
  if (store.update !== undefined) {
    guarded.update = (sessionKey: string, merge: SessionMerge, loaded?: LoadedVersion) =>
      call('update', 'update a session', sessionKey, () => full.update(sessionKey, merge, loaded));
  }
  if (store.listSessions !== undefined) {
    guarded.listSessions = (userId: string) =>
      call('listSessions', "list a user's sessions", '', () => full.listSessions(userId));
  }
  if (store.deleteUserSessions !== undefined) {
    guarded.deleteUserSessions = (userId: string, deleteOptions?: DeleteUserSessionsOptions) =>
      call('deleteUserSessions', "delete a user's sessions", deleteOptions?.except ?? '', () =>
        full.deleteUserSessions(userId, deleteOptions),
      );
  }
  return guarded;
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
