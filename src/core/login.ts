import { timingSafeEqual } from 'node:crypto';
import type { Session } from './session.js';
import type { SessionData } from './session-store.js';

/**
 * Where `django.contrib.auth` keeps a login in the session: the user's primary key as a string,
 * the dotted path of the backend that authenticated them, and their session auth hash.
 *
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/__init__.py
 */
export const LOGIN_SESSION_KEYS = {
  userId: '_auth_user_id',
  backend: '_auth_user_backend',
  hash: '_auth_user_hash',
} as const;

/** Django's default (and, with one backend configured, only) authentication backend. */
const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend';

/** The user {@link login} records in the session. */
export interface LoginUser {
  /** The user's primary key; stored as a string, as Django's `value_to_string` stores it. */
  readonly id: string | number;
  /**
   * The dotted path of the backend that authenticated the user (Django's `user.backend`);
   * default `django.contrib.auth.backends.ModelBackend`.
   */
  readonly backend?: string;
  /**
   * The user's session auth hash (Django's `user.get_session_auth_hash()`, which
   * `sessionAuthHash` from `keepstate/django` computes from the password hash); `''` (the
   * default) when the user has none. Changing it, as a password change does, ends the sessions
   * that hold the old one.
   */
  readonly sessionAuthHash?: string;
}

/**
 * Logs `user` in on `session` with exactly the session steps of Django's
 * `django.contrib.auth.login`, so a Django app sharing the sessions sees the same login:
 *
 * - When the session already holds a login (`_auth_user_id`) of another user, or of the same
 *   user with another session auth hash, it is flushed: emptied and moved to a new key, so one
 *   user never inherits another's data.
 * - When it holds no login, its key is cycled ({@link Session.cycleKey}): the data an anonymous
 *   visitor gathered is kept, under a new key, so a key planted before the login (session
 *   fixation) is worthless after it.
 * - When it holds this very login already, nothing moves, as in Django.
 *
 * Then `_auth_user_id`, `_auth_user_backend` and `_auth_user_hash` are set. Commit the session
 * afterwards, as for any change. (Django also rotates the CSRF token and sends
 * `user_logged_in`; neither is a session matter.)
 *
 * @throws StoreError when the store fails or times out while loading, flushing or cycling
 * @see https://docs.djangoproject.com/en/5.2/topics/auth/default/#django.contrib.auth.login
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/__init__.py
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#renew-the-session-id-after-any-privilege-level-change
 */
export async function login<T extends SessionData>(
  session: Session<T>,
  user: LoginUser,
): Promise<void> {
  const s = session as unknown as Session<SessionData>;
  const userId = String(user.id);
  const hash = user.sessionAuthHash ?? '';
  if (await s.has(LOGIN_SESSION_KEYS.userId)) {
    const stored = await s.get(LOGIN_SESSION_KEYS.userId);
    const storedHash = await s.get(LOGIN_SESSION_KEYS.hash, '');
    // Django compares the stored hash only when the user has one (`session_auth_hash and ...`).
    const otherLogin =
      String(stored) !== userId ||
      (hash !== '' && !(typeof storedHash === 'string' && sameText(storedHash, hash)));
    if (otherLogin) await s.flush();
  } else {
    await s.cycleKey();
  }
  await s.update({
    [LOGIN_SESSION_KEYS.userId]: userId,
    [LOGIN_SESSION_KEYS.backend]: user.backend ?? MODEL_BACKEND,
    [LOGIN_SESSION_KEYS.hash]: hash,
  });
}

/**
 * Logs the visitor out as Django's `django.contrib.auth.logout` does to the session:
 * {@link Session.flush}, which deletes the stored record and empties the session; the manager
 * then deletes the cookie.
 *
 * @throws StoreError when the store fails or times out: the record may still be there, so the
 *   logout must not be reported as done
 * @see https://docs.djangoproject.com/en/5.2/topics/auth/default/#django.contrib.auth.logout
 */
export async function logout<T extends SessionData>(session: Session<T>): Promise<void> {
  await session.flush();
}

/** Django's `constant_time_compare` on the UTF-8 bytes. */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
