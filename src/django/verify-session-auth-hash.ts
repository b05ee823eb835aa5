import { timingSafeEqual } from 'node:crypto';
import type { DjangoUser } from './django-user.js';
import { sessionAuthHash } from './session-auth-hash.js';

/**
 * The keys to verify a session auth hash with: Django's `SECRET_KEY` and `SECRET_KEY_FALLBACKS`.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key-fallbacks
 */
export interface SessionAuthHashKeys {
  readonly secret: string | Buffer;
  readonly fallbackSecrets?: readonly (string | Buffer)[];
}

/**
 * Which key verified a session auth hash: the current `secret`, one of the `fallbackSecrets`, or
 * none (`false`).
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/auth/default/#session-invalidation-on-password-change
 */
export type SessionAuthHashMatch = 'secret' | 'fallback' | false;

/**
 * Checks a session's `_auth_user_hash` against the user's current password hash, as Django's
 * `get_user` does: the hash must equal {@link sessionAuthHash} of the password hash with the
 * secret, or, failing that, with one of the fallback secrets (Django 4.1+). Comparisons take
 * constant time. A missing or empty hash never verifies.
 *
 * When a fallback verified it, Django cycles the session key and stores the hash made with the
 * current secret; {@link getDjangoUser} does the same.
 *
 * @param hash - the session's hash, or the {@link DjangoUser} that {@link djangoUser} read
 * @param passwordHash - the user's `password` column as Django stores it now
 * @returns `'secret'` or `'fallback'` (truthy) when it verifies, `false` when the password
 *   changed since the login, the keys differ, or the hash is missing or forged
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/__init__.py
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/base_user.py
 */
export function verifySessionAuthHash(
  hash: string | Pick<DjangoUser, 'hash'> | null | undefined,
  passwordHash: string,
  keys: SessionAuthHashKeys,
): SessionAuthHashMatch {
  const given = typeof hash === 'string' ? hash : (hash?.hash ?? null);
  if (!given) return false;
  if (matches(given, sessionAuthHash(passwordHash, keys.secret))) return 'secret';
  for (const fallback of keys.fallbackSecrets ?? []) {
    if (matches(given, sessionAuthHash(passwordHash, fallback))) return 'fallback';
  }
  return false;
}

/** Django's `constant_time_compare` on the UTF-8 bytes. */
function matches(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
