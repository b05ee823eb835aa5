import type { Clock } from '../signing/clock.js';
import type { SecurityLogger } from './security-logger.js';
import type { SessionCodec } from './session-codec.js';

/** The data of one session: JSON-serializable values under string keys. */
export type SessionData = Record<string, unknown>;

/** Options of {@link SessionStore.clearExpired}. */
export interface ClearExpiredOptions {
  /** Called after each batch with the number of records deleted so far. */
  readonly onProgress?: (deleted: number) => void;
}

/** One stored session, as a store reads and writes it. */
export interface SessionRecord {
  /** The key the record is stored under (for the signed-cookie store, the key it was issued with). */
  readonly sessionKey: string;
  /** The decoded data, including Django's `_session_expiry` key when the session set one. */
  readonly data: SessionData;
  /**
   * Set by a store on load when the record should be written again on this response even if
   * unchanged: it verified only with a fallback secret, say, and must be re-sealed with the
   * current one.
   */
  readonly resave?: boolean;
  /** After this instant `load` must not return the record. */
  readonly expiresAt: Date;
  /**
   * The user the session belongs to, set by the core on records it writes (from the data's
   * `_keepstate_user`, else Django's `_auth_user_id`): stores with a user index file the session
   * under it. Stores never read it back on `load`.
   */
  readonly userId?: string;
  /** The browser's `User-Agent` given to `setUser`, kept in the user index beside the session. */
  readonly userAgent?: string;
  /**
   * Set by a store on load: the stored value exactly as read (the encoded text), which the core
   * hands back to `update` so that its first compare-and-set needs no second read.
   */
  readonly version?: string;
}

/**
 * What a request loaded, handed back to {@link SessionStore.update}: the stored value it read
 * (`version`) and that value's data, as the request holds it now.
 */
export interface LoadedVersion {
  readonly version: string;
  readonly data: SessionData;
}

/**
 * Turns the latest stored data of a session into the record to write: one request's changes
 * applied to it. A store may call it more than once (after a conflict); it has no side effect a
 * retry would repeat.
 */
export type SessionMerge = (latest: SessionData) => SessionRecord;

/** One session of a user, as {@link SessionStore.listSessions} lists it. */
export interface UserSession {
  /**
   * SHA-256 of the session key, in hex ({@link sessionKeyHash}): tells sessions apart, and the
   * current one from the others, without being a credential.
   */
  readonly keyHash: string;
  /** When the session was first filed under this user. */
  readonly createdAt: Date;
  /** When the session was last written. */
  readonly lastActivity: Date;
  readonly expiresAt: Date;
  /** The `User-Agent` given to `setUser`, when there was one. */
  readonly userAgent?: string;
}

/** Options of {@link SessionStore.deleteUserSessions}. */
export interface DeleteUserSessionsOptions {
  /** A session key to keep: the current session's, for "log out my other devices". */
  readonly except?: string | null;
}

/**
 * What a store is told by the {@link SessionManager} that uses it: how to encode data, what time it
 * is, the cookie age and name, and where security warnings go.
 */
export interface StoreContext {
  /** Django's encoding with the salt of the db, cache and file engines. */
  readonly codec: SessionCodec;
  /** The same encoding with another salt (the signed-cookie engine has its own). */
  codecFor(salt: string): SessionCodec;
  /**
   * 32-byte keys for `purpose` (e.g. encryption), derived with HKDF-SHA256 from the secret and
   * then each fallback secret, in that order: the first encrypts, all decrypt. Stores never see
   * the secrets themselves.
   */
  deriveKeys(purpose: string): readonly Buffer[];
  readonly clock: Clock;
  /** Seconds, the manager's `cookieAge`. */
  readonly cookieAge: number;
  readonly cookieName: string;
  readonly logger: SecurityLogger;
}

/**
 * The contract every session store fulfils. A store only persists records: every decision about
 * when to load, save or delete lives in the core.
 *
 * Stores use their backend's atomic primitive for `create` (insert-if-absent) and `save`
 * (update-if-present); they never check-then-act across a network.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/base.py
 */
export interface SessionStore {
  /** The record under `sessionKey`, or `null` when it is missing, expired or unreadable. */
  load(sessionKey: string): Promise<SessionRecord | null>;
  /**
   * Inserts the record if no record has its key.
   * @returns the cookie value that finds the record again (the key, for server-side stores)
   * @throws CreateError when the key is taken
   */
  create(record: SessionRecord): Promise<string>;
  /**
   * Replaces an existing record.
   * @returns the cookie value that finds the record again
   * @throws UpdateError when no record has the key (it expired or was deleted meanwhile)
   */
  save(record: SessionRecord): Promise<string>;
  /**
   * Applies one request's changes to the latest stored data, atomically: reads the record, calls
   * `merge` with its data, and writes the result only if no other write came in between (a
   * compare-and-set on the stored value, a row lock or a file lock), reading again and retrying on
   * a conflict. A compare-and-set store may take `loaded` for its first attempt: merge into
   * `loaded.data` and write only if the stored value is still `loaded.version`, saving a read. Concurrent requests on one session then each keep their own changes. Stores that
   * cannot do this leave it out, and the core falls back to `save` (the last write wins).
   *
   * @returns the cookie value that finds the record again
   * @throws UpdateError when no live record has the key (a logout or key rotation won)
   */
  update?(sessionKey: string, merge: SessionMerge, loaded?: LoadedVersion): Promise<string>;
  /**
   * The live sessions filed under `userId` (see {@link SessionRecord.userId}), in no set order.
   * Only server-side stores with a user index have it.
   */
  listSessions?(userId: string): Promise<UserSession[]>;
  /**
   * Deletes every session filed under `userId` but `options.except`: "log out everywhere".
   * @returns how many sessions were deleted
   */
  deleteUserSessions?(userId: string, options?: DeleteUserSessionsOptions): Promise<number>;
  /** Deletes the record; a missing record is not an error. */
  delete(sessionKey: string): Promise<void>;
  /** Whether a live record has this key. */
  exists(sessionKey: string): Promise<boolean>;
  /**
   * Deletes expired records, in batches where the backend allows, reporting the running total
   * to `onProgress`; a no-op where the backend expires records by itself.
   * @returns how many records were deleted (0 where the backend expires them itself)
   */
  clearExpired(options?: ClearExpiredOptions): Promise<number>;
  /**
   * Up to `limit` live records, for admin pages; only stores that can enumerate have it (memory,
   * file and the SQL stores). Expired records are never listed, and never deleted either: that
   * stays `clearExpired`'s job. Which records come when there are more than `limit`, and in which
   * order, is the store's choice; each store documents its own.
   *
   * Session keys are credentials: show an admin no more than a prefix of them.
   *
   * @param limit - the most records to return, a non-negative integer
   * @throws RangeError when `limit` is not a non-negative integer
   */
  list?(limit: number): Promise<SessionRecord[]>;
  /**
   * `true` for stores whose backend drops expired records by itself (Redis, memcached, cookies):
   * their `clearExpired` does nothing, and the `clearsessions` command says so.
   */
  readonly selfExpiring?: boolean;
  /**
   * `true` for stores that keep their records in this process (memory) or in the cookie, so a
   * call can neither hang nor reach a backend: the manager's guard then skips its deadline.
   */
  readonly inProcess?: boolean;
  /**
   * Whether `value` can be a cookie value of this store. Values that fail are treated as no
   * session before any backend call. Defaults to {@link isValidSessionKey}.
   */
  isValidKey?(value: string): boolean;
  /** Receives the manager's settings; called once by each {@link SessionManager} that uses the store. */
  attach?(context: StoreContext): void;
}
