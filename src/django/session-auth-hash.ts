import { saltedHmac } from '../signing/salted-hmac.js';

// AbstractBaseUser._get_session_auth_hash's key_salt.
const KEY_SALT = 'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash';

/**
 * Computes Django's session auth hash for a user: `salted_hmac(key_salt, user.password,
 * secret, algorithm='sha256').hexdigest()`. `django.contrib.auth.login` stores it in the session
 * (`_auth_user_hash`), and every request compares it with a fresh one, so changing the password
 * ends every session of the user.
 *
 * Use it to log a user in from Node in a way Django accepts, or to write back the hash with the
 * current secret after a fallback secret verified it (as Django's `get_user` does).
 *
 * @param passwordHash - the user's `password` column as Django stores it, e.g.
 *   `pbkdf2_sha256$1000000$salt$hash` (the whole string, not the password)
 * @param secret - Django's `SECRET_KEY` (or one of `SECRET_KEY_FALLBACKS`)
 * @returns 64 lowercase hex digits
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/base_user.py
 */
export function sessionAuthHash(passwordHash: string, secret: string | Buffer): string {
  return saltedHmac(KEY_SALT, passwordHash, secret, 'sha256').toString('hex');
}
