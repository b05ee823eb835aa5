export {
  COOKIE_SIZE_LIMIT,
  CookieJar,
  type CookieJarKeys,
  type ReadSignedCookieOptions,
  type SetSignedCookieOptions,
} from './core/cookie-jar.js';
export {
  CookieTooLarge,
  CreateError,
  SessionInterrupted,
  StoreError,
  UpdateError,
} from './core/errors.js';
export {
  EXPIRY_KEY,
  type Expiry,
  expiryAge,
  expiryDate,
  isoformat,
  parseIsoformat,
} from './core/expiry.js';
export { LOGIN_SESSION_KEYS, type LoginUser, login, logout } from './core/login.js';
export {
  consoleSecurityLogger,
  type SecurityLogger,
  type SessionEvent,
} from './core/security-logger.js';
export {
  type ExpiryQuery,
  Session,
  type SessionSettings,
  type SetUserOptions,
} from './core/session.js';
export {
  decodeSessionData,
  encodeSessionData,
  SESSION_STORE_SALT,
  SessionCodec,
  type SessionCodecOptions,
  type SignedSessionData,
} from './core/session-codec.js';
export {
  generateSessionKey,
  isValidSessionKey,
  sessionKeyHash,
  sessionKeyTag,
} from './core/session-key.js';
export { type SessionCommit, SessionManager } from './core/session-manager.js';
export {
  type CookieSameSite,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptions,
} from './core/session-options.js';
export type {
  ClearExpiredOptions,
  DeleteUserSessionsOptions,
  SessionData,
  SessionMerge,
  SessionRecord,
  SessionStore,
  StoreContext,
  UserSession,
} from './core/session-store.js';
export { sessionUserId, USER_SESSION_KEYS } from './core/session-user.js';
export { StoreBinding } from './core/store-binding.js';
export { TIMEOUT_KEYS } from './core/timeouts.js';
export type { Span, SpanAttributes, Tracer } from './core/tracer.js';
export { ImproperlyConfigured } from './improperly-configured.js';
export { type Clock, systemClock } from './signing/clock.js';
export { CachedStore } from './stores/cached-store.js';
export {
  ENCRYPTED_COOKIE_PURPOSE,
  ENCRYPTED_COOKIE_VERSION,
  EncryptedCookieStore,
  type EncryptedCookieStoreOptions,
  type RevocationOptions,
} from './stores/encrypted-cookie-store.js';
export { FileStore, type FileStoreOptions } from './stores/file-store.js';
export { HashedKeyStore } from './stores/hashed-key-store.js';
export { MemoryRevocationStore } from './stores/memory-revocation-store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory-store.js';
export {
  type RedisRevocationClient,
  RedisRevocationStore,
  type RedisRevocationStoreOptions,
} from './stores/redis-revocation-store.js';
export type { RevocationStore } from './stores/revocation-store.js';
export { SIGNED_COOKIE_SALT, SignedCookieStore } from './stores/signed-cookie-store.js';
export { importDriver, type OwnedStore, storeFromUrl } from './stores/store-from-url.js';
