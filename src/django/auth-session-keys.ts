/**
 * The session keys `django.contrib.auth` keeps a login under: the user's primary key as a string
 * (`SESSION_KEY`), the dotted path of the backend that authenticated them
 * (`BACKEND_SESSION_KEY`), and the HMAC of their password hash (`HASH_SESSION_KEY`).
 *
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/auth/__init__.py
 */
export const AUTH_SESSION_KEYS = {
  userId: '_auth_user_id',
  backend: '_auth_user_backend',
  hash: '_auth_user_hash',
} as const;
