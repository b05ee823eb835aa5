import { hkdfSync } from 'node:crypto';
import { deleteCookie } from '../cookies/delete-cookie.js';
import { readCookie } from '../cookies/parse-cookie.js';
import { type CookieOptions, CookieSerializer } from '../cookies/serialize-cookie.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import { SessionInterrupted, StoreError, UpdateError } from './errors.js';
import { guardStore } from './guard-store.js';
import { Session, type SessionSettings } from './session.js';
import { SESSION_STORE_SALT, SessionCodec } from './session-codec.js';
import { isValidSessionKey, sessionKeyTag } from './session-key.js';
import {
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptions,
} from './session-options.js';
import type {
  DeleteUserSessionsOptions,
  SessionData,
  SessionStore,
  UserSession,
} from './session-store.js';
import { findTracer } from './tracer.js';

// HKDF's salt: fixed and public, it only separates keepstate's keys from other uses of the secret.
const KEY_SALT = 'keepstate.derived-key';

/** What the response must carry after a request, as {@link SessionManager.commit} decides it. */
export interface SessionCommit {
  /** A `Set-Cookie` header value to add, or `null`. */
  readonly setCookie: string | null;
  /** Whether to add `Cookie` to the response's `Vary` header. */
  readonly vary: boolean;
  /**
   * Whether to merge `private` into the response's `Cache-Control`: the manager's
   * `cacheControlPrivate` is on and {@link setCookie} sets or deletes the session cookie.
   */
  readonly cacheControlPrivate: boolean;
}

// The decisions that send no cookie, shared: most requests end with one of them.
const NOTHING: SessionCommit = Object.freeze({
  setCookie: null,
  vary: false,
  cacheControlPrivate: false,
});
const VARY: SessionCommit = Object.freeze({
  setCookie: null,
  vary: true,
  cacheControlPrivate: false,
});

/**
 * Django's `SessionMiddleware` without a framework: {@link open} makes the lazy session of a
 * request from its cookies, {@link commit} saves it after the handler and says which
 * `Set-Cookie` and `Vary` the response needs. Adapters only translate requests and responses
 * around these two calls.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/middleware.py
 */
export class SessionManager<T extends SessionData = SessionData> {
  /** The options with Django's defaults filled in. */
  readonly options: ResolvedSessionOptions;
  /** Encodes and decodes session data for the stores that keep Django's encoding. */
  readonly codec: SessionCodec;
  readonly #cookie: CookieSerializer;
  readonly #deletion: string;
  readonly #settings: SessionSettings;

  /** @throws ImproperlyConfigured when an option is missing or invalid */
  constructor(options: SessionOptions) {
    const o = resolveSessionOptions(options);
    this.options = o;
    const codecFor = (salt: string) =>
      new SessionCodec({
        secret: o.secret,
        fallbackSecrets: o.fallbackSecrets,
        salt,
        clock: o.clock,
        logger: o.logger,
        ...(o.serializer && { serializer: o.serializer }),
      });
    this.codec = codecFor(SESSION_STORE_SALT);
    o.store.attach?.({
      codec: this.codec,
      codecFor,
      deriveKeys: (purpose) =>
        [o.secret, ...o.fallbackSecrets].map((secret) =>
          Buffer.from(hkdfSync('sha256', secret, KEY_SALT, purpose, 32)),
        ),
      clock: o.clock,
      cookieAge: o.cookieAge,
      cookieName: o.cookieName,
      logger: o.logger,
    });
    const scope = {
      path: o.cookiePath,
      sameSite: o.cookieSameSite,
      ...(o.cookieDomain !== undefined && { domain: o.cookieDomain }),
    };
    const cookie: CookieOptions = {
      ...scope,
      secure: o.cookieSecure,
      httpOnly: o.cookieHttpOnly,
      clock: o.clock,
    };
    // Checked once here; each save then only fills in the key and the age.
    this.#cookie = new CookieSerializer(o.cookieName, cookie);
    this.#deletion = deleteCookie(o.cookieName, scope);
    // Every store call of every session goes through the guard: bounded by storeTimeout, and
    // no session key in what it throws.
    const tracer = o.tracer === false ? undefined : (o.tracer ?? findTracer());
    this.#settings = {
      ...o,
      store: guardStore(o.store, {
        timeout: o.storeTimeout,
        tag: (sessionKey) => sessionKeyTag(sessionKey, o.secret),
        logger: o.logger,
        tracer,
      }),
    };
  }

  /**
   * The sessions of `userId` (filed under it by {@link Session.setUser} or a login), from the
   * store's user index, bounded by `storeTimeout`: a "your devices" page.
   *
   * @throws ImproperlyConfigured when the store keeps no user index (the cookie stores)
   * @throws StoreError when the store fails or times out
   */
  listSessions(userId: string | number): Promise<UserSession[]> {
    return this.#userIndex('listSessions').call(this.#settings.store, String(userId));
  }

  /**
   * Ends every session of `userId` but `options.except` (pass the current session's key to keep
   * it): "log out everywhere", or "log out my other devices".
   *
   * @returns how many sessions were ended
   * @throws ImproperlyConfigured when the store keeps no user index (for the cookie stores,
   *   revoke through `EncryptedCookieStore`'s revocation instead)
   * @throws StoreError when the store fails or times out
   */
  deleteUserSessions(
    userId: string | number,
    options: DeleteUserSessionsOptions = {},
  ): Promise<number> {
    return this.#userIndex('deleteUserSessions').call(
      this.#settings.store,
      String(userId),
      options,
    );
  }

  #userIndex<M extends 'listSessions' | 'deleteUserSessions'>(
    method: M,
  ): NonNullable<SessionStore[M]> {
    const found = this.#settings.store[method];
    if (found === undefined) {
      const name = this.options.store.constructor?.name ?? 'The store';
      throw new ImproperlyConfigured(
        `keepstate: ${name} keeps no index of users' sessions, so ${method} cannot work: use a server-side store (memory, SQL, file, Redis, memcached, cached)`,
      );
    }
    return found;
  }

  /**
   * The session of a request, from its `Cookie` header (or already parsed cookies). Does not
   * touch the store: loading waits for the first read. A cookie value the store cannot have
   * issued is treated as no session and reported to the security logger.
   */
  open(cookies: string | Readonly<Record<string, string>> | null | undefined): Session<T> {
    const name = this.options.cookieName;
    // Only the session cookie is looked for: the rest of the header is not this call's business.
    return this.openValue(
      typeof cookies === 'string' ? readCookie(cookies, name) : cookies?.[name],
    );
  }

  /**
   * The session of a request whose session cookie has `value` (`undefined`: no such cookie), for
   * an adapter that has read it already; otherwise as {@link open}.
   */
  openValue(value: string | undefined): Session<T> {
    const o = this.options;
    let sessionKey: string | null = null;
    if (value !== undefined) {
      sessionKey = (o.store.isValidKey?.(value) ?? isValidSessionKey(value)) ? value : null;
      if (sessionKey === null && value !== '') {
        o.logger.warn('Session cookie refused: not a value this store issues', {
          length: value.length,
        });
        o.logger.event?.({ type: 'rejected', reason: 'malformed cookie' });
      }
    }
    return new Session<T>(this.#settings, sessionKey, value !== undefined);
  }

  /**
   * Saves the session if it must be saved and says what the response needs, with Django's
   * rules: an emptied session whose cookie was sent gets its cookie deleted; a changed one (or
   * any non-empty one under `saveEveryRequest`) is saved and its cookie set, unless `status` is
   * 500 or more; `Vary: Cookie` whenever the session was read or its cookie set or deleted.
   *
   * Under `failOpen`, a session whose load failed is neither saved nor has its cookie touched,
   * and a save that fails with {@link StoreError} is skipped (and logged): the response then
   * carries no session cookie.
   *
   * @param status - the response's status code
   * @returns the decision: at once when nothing is to be saved, else a promise of it
   * @throws SessionInterrupted (a rejection) when the record was deleted by a concurrent request
   * @throws StoreError when the store is unreachable or slower than `storeTimeout` (not under
   *   `failOpen`)
   */
  commit(session: Session<T>, status: number): SessionCommit | Promise<SessionCommit> {
    const o = this.options;
    const { accessed, modified } = session;
    const untouched = accessed ? VARY : NOTHING;
    // The visitor's real session is still in the store: deleting its cookie would log them out.
    if (session.storeFailed) return untouched;
    const empty = session.isEmpty();
    if (empty && session.cookieSent) {
      return { setCookie: this.#deletion, vary: true, cacheControlPrivate: o.cacheControlPrivate };
    }
    if (!(modified || o.saveEveryRequest) || empty || status >= 500) return untouched;
    return this.#save(session, untouched);
  }

  // Only this path waits on the store: the others answer at once, so a request that read the
  // session (or never touched it) sends its response without another trip through the event loop.
  async #save(session: Session<T>, untouched: SessionCommit): Promise<SessionCommit> {
    const o = this.options;
    const { modified } = session;
    // Loads the session, when the handler did not.
    await session.getExpireAtBrowserClose();
    // Under saveEveryRequest the session may first load here: saving the empty stand-in of a
    // failed load would replace the visitor's real session.
    if (session.storeFailed) return untouched;
    if (!modified && o.touchAfter !== undefined) {
      // Rolling, but saved recently enough: the stored expiry and the cookie's stand.
      const since = await session.secondsSinceSave();
      if (since !== undefined && since < o.touchAfter) return VARY;
    }
    try {
      await session.save();
    } catch (error) {
      if (error instanceof UpdateError) {
        o.logger.event?.({ type: 'interrupted' });
        throw new SessionInterrupted();
      }
      if (error instanceof StoreError && o.failOpen) {
        o.logger.warn('Session store failed: the session was not saved (failOpen)', {
          error: error.message,
        });
        return VARY;
      }
      throw error;
    }
    // After the save: the stored data may hold other requests' changes, and a new session's
    // creation time.
    const maxAge = await session.cookieMaxAge();
    return {
      setCookie: this.#cookie.serialize(session.sessionKey ?? '', maxAge),
      vary: true,
      cacheControlPrivate: o.cacheControlPrivate,
    };
  }
}
