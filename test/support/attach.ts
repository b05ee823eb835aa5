import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import type { Clock } from '../../src/signing/clock.js';

/** The secret test managers sign with. */
export const TEST_SECRET = 'a-test-secret-that-is-long-enough-0123456789';

/**
 * Attaches `store` to a SessionManager with {@link TEST_SECRET} and `clock`, so a store that
 * encodes the Django way can be driven directly by the store suite.
 */
export function attach<S extends SessionStore>(
  store: S,
  clock: Clock,
  options: { cookieAge?: number } = {},
): S {
  new SessionManager({ store, secret: TEST_SECRET, clock, logger: { warn() {} }, ...options });
  return store;
}
