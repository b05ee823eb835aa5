import type { Session } from '../core/session.js';
import type { SessionData } from '../core/session-store.js';
import { AUTH_SESSION_KEYS } from './auth-session-keys.js';
import { type DjangoUser, djangoUser } from './django-user.js';
import { sessionAuthHash } from './session-auth-hash.js';
import { type SessionAuthHashKeys, verifySessionAuthHash } from './verify-session-auth-hash.js';

/** Django's default `AUTHENTICATION_BACKENDS`. */
const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend';

/**
 * Options of {@link getDjangoUser}.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/settings/#authentication-backends
 */
export interface GetDjangoUserOptions extends SessionAuthHashKeys {
  /**
   * Finds the user the way the session's backend's `get_user(user_id)` would, and returns their
   * current `password` column; `null` when there is no such user, or (as `ModelBackend` does)
   * when the user is inactive. For `ModelBackend`: `SELECT password FROM auth_user WHERE id = ?
   * AND is_active`.
   */
  readonly passwordHashOf: (userId: string, backend: string) => Promise<string | null>;
  /**
   * Django's `AUTHENTICATION_BACKENDS`; a session naming another backend is anonymous. Default:
   * `['django.contrib.auth.backends.ModelBackend']`, as in Django.
   */
  readonly backends?: readonly string[];
}

/**
 * Who is logged in, decided the way Django's `get_user` decides it, for a Node service that
 * shares a Django app's sessions: the session must name a user and one of `backends`, the user
 * must exist (`passwordHashOf` gives their password hash), and the session's auth hash must
 * verify against that password hash with `secret` or one of `fallbackSecrets`.
 *
 * It changes the session as Django does, so both sides stay in step: a login whose hash fails
 * (the password changed, or the hash is forged) is logged out with `session.flush()`; one that
 * only a fallback secret verifies gets a new session key (`cycleKey()`) and the hash made with
 * the current secret. Commit the session afterwards, as for any change.
 *
 * @returns the verified login, or `null` for an anonymous (or just logged out) session
 * @throws whatever `passwordHashOf` or the store throws
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/__init__.py
 */
export async function getDjangoUser(
  session: Session<SessionData>,
  options: GetDjangoUserOptions,
): Promise<DjangoUser | null> {
  const user = await djangoUser(session);
  if (user === null || !(options.backends ?? [MODEL_BACKEND]).includes(user.backend)) return null;
  const passwordHash = await options.passwordHashOf(user.userId, user.backend);
  if (passwordHash === null) return null;
  const match = verifySessionAuthHash(user, passwordHash, options);
  if (match === false) {
    await session.flush();
    return null;
  }
  if (match === 'fallback') {
    const hash = sessionAuthHash(passwordHash, options.secret);
    await session.cycleKey();
    await session.set(AUTH_SESSION_KEYS.hash, hash);
    return { ...user, hash };
  }
  return user;
}
