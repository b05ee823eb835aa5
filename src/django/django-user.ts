import { Session } from '../core/session.js';
import type { SessionData } from '../core/session-store.js';
import { AUTH_SESSION_KEYS } from './auth-session-keys.js';

/**
 * Who a Django session says is logged in, as `django.contrib.auth.login` stored it.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/auth/default/#how-to-log-a-user-in
 */
export interface DjangoUser {
  /** The user's primary key, as Django stores it: always a string (`'42'`, or a UUID). */
  readonly userId: string;
  /** The dotted path of the backend that authenticated the user, e.g. `django.contrib.auth.backends.ModelBackend`. */
  readonly backend: string;
  /**
   * The session auth hash (`_auth_user_hash`), or `null` when the session has none; check it with
   * {@link verifySessionAuthHash} against the user's current password hash before trusting the
   * login.
   */
  readonly hash: string | null;
}

/**
 * Reads who a Django session says is logged in, from `_auth_user_id`, `_auth_user_backend` and
 * `_auth_user_hash`. It only reads: the login is not verified. Before trusting it, check that
 * the backend is one the Django app lists in `AUTHENTICATION_BACKENDS`, that the user exists
 * and is active, and that the hash verifies ({@link verifySessionAuthHash}); or let
 * {@link getDjangoUser} do all of that as Django's `get_user` does.
 *
 * @param source - a keepstate {@link Session} (loaded on first use), or session data
 * @returns the login, or `null` when the session holds no user id or no backend (Django's
 *   `get_user` gives `AnonymousUser` then), or holds them with types Django never writes
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/__init__.py
 */
export async function djangoUser(
  source: Session<SessionData> | SessionData,
): Promise<DjangoUser | null> {
  const read = (key: string): Promise<unknown> | unknown =>
    source instanceof Session ? source.get(key) : source[key];
  const [userId, backend, hash] = await Promise.all([
    read(AUTH_SESSION_KEYS.userId),
    read(AUTH_SESSION_KEYS.backend),
    read(AUTH_SESSION_KEYS.hash),
  ]);
  if (typeof userId !== 'string' || typeof backend !== 'string') return null;
  return { userId, backend, hash: typeof hash === 'string' ? hash : null };
}
