export { AUTH_SESSION_KEYS } from './auth-session-keys.js';
export { type DjangoUser, djangoUser } from './django-user.js';
export { type GetDjangoUserOptions, getDjangoUser } from './get-django-user.js';
export { sessionAuthHash } from './session-auth-hash.js';
export {
  type SessionAuthHashKeys,
  type SessionAuthHashMatch,
  verifySessionAuthHash,
} from './verify-session-auth-hash.js';
