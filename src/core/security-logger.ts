/**
 * What happened to a session, as {@link SecurityLogger.event} hears it. Never carries a session
 * key or a cookie value.
 *
 * - `loaded`: the store was read (`found`: whether a live record was there);
 * - `created`: a new record was stored under a new key;
 * - `saved`: an existing record was written (`merged`: this request's changes were applied to
 *   the latest stored data, rather than written over it);
 * - `rotated`: the key was cycled (`cycleKey`, a login);
 * - `flushed`: the record was deleted and the session emptied (a logout);
 * - `expired`: a stored record was refused because its `reason` timeout had passed;
 * - `interrupted`: the record vanished while the request ran (`SessionInterrupted`);
 * - `rejected`: the request's cookie or stored data was refused, for `reason`;
 * - `storeError`: a store call failed (`operation`, `error`: the key-free message).
 */
export type SessionEvent =
  | { readonly type: 'loaded'; readonly found: boolean }
  | { readonly type: 'created' | 'rotated' | 'flushed' | 'interrupted' }
  | { readonly type: 'saved'; readonly merged: boolean }
  | { readonly type: 'expired'; readonly reason: 'absoluteTimeout' }
  | { readonly type: 'rejected'; readonly reason: string }
  | { readonly type: 'storeError'; readonly operation: string; readonly error: string };

/**
 * Where keepstate reports untrusted input it refused: forged or corrupted session data, bad
 * cookies. Mirrors Django's `django.security.SuspiciousSession` logger. Give it an `event`
 * method to receive a structured {@link SessionEvent} for everything that happens to sessions.
 */
export interface SecurityLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  /** Receives every {@link SessionEvent}; called synchronously, so keep it cheap. */
  event?(event: SessionEvent): void;
}

/** The default logger: one line on stderr through `console.warn`, prefixed `keepstate.security`. */
export const consoleSecurityLogger: SecurityLogger = {
  warn(message, details) {
    if (details === undefined) console.warn(`keepstate.security: ${message}`);
    else console.warn(`keepstate.security: ${message}`, details);
  },
};
