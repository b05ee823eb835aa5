import { type Clock, nowMs } from '../signing/clock.js';
import { CreateError, StoreError, UpdateError } from './errors.js';
import { EXPIRY_KEY, type Expiry, expiryAge, expiryDate, isoformat } from './expiry.js';
import type { SecurityLogger, SessionEvent } from './security-logger.js';
import { generateSessionKey } from './session-key.js';
import type { SessionData, SessionRecord, SessionStore } from './session-store.js';
import { sessionUserAgent, sessionUserId, USER_SESSION_KEYS } from './session-user.js';
import { TIMEOUT_KEYS } from './timeouts.js';

/** What a {@link Session} needs from its manager. */
export interface SessionSettings {
  readonly store: SessionStore;
  readonly clock: Clock;
  /** Seconds. */
  readonly cookieAge: number;
  readonly expireAtBrowserClose: boolean;
  /** Loading turns a {@link StoreError} into an anonymous session (the manager's `failOpen`). */
  readonly failOpen?: boolean;
  /** Told when `failOpen` hides a store failure, and of every {@link SessionEvent}. */
  readonly logger?: SecurityLogger;
  /** Seconds from a session's creation after which it is over, however active (not in Django). */
  readonly absoluteTimeout?: number | undefined;
  /** Seconds: when set, each save stamps the data with its time, for the manager's `touchAfter`. */
  readonly touchAfter?: number | undefined;
}

/** Options of {@link Session.setUser}. */
export interface SetUserOptions {
  /** The browser's `User-Agent`, shown beside the session in the user's session list. */
  readonly userAgent?: string | undefined;
}

/** Django's `get_expiry_age`/`get_expiry_date` keyword arguments. */
export interface ExpiryQuery {
  /** The instant the age is counted from; defaults to now. */
  readonly modification?: Date;
  /** Use this expiry instead of the session's own. */
  readonly expiry?: Expiry | string;
}

// How many fresh keys `create` tries before giving up; a collision of two 32-character random
// keys is astronomically rare, so running out means the store is refusing every insert.
const CREATE_ATTEMPTS = 10;
// A user agent is a hint for a human reading a list of devices, not worth unbounded storage.
const MAX_USER_AGENT_LENGTH = 512;
// Marks a key this request removed, in the change log.
const REMOVED: unique symbol = Symbol('removed');

/**
 * One visitor's session: a lazy, dict-like object found through the key in their cookie.
 *
 * Nothing touches the store until the first read or write; reads set `accessed`, writes set
 * `modified` as well, and the {@link SessionManager} decides from those flags what to save and
 * which cookie to send. Methods are async because the first call loads the data.
 *
 * @typeParam T - the shape of the data, for typed `get`/`set`
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-sessions-in-views
 */
export class Session<T extends SessionData = SessionData> {
  /** Whether the data was read or written during this request. */
  accessed = false;

  readonly #settings: SessionSettings;
  #sessionKey: string | null;
  #cache: SessionData | null = null;
  #loading: Promise<SessionData> | null = null;
  #storeFailed = false;
  #modified = false;
  // What this request changed, key by key, so a save can apply just that to the latest stored
  // data (the store's `update`) instead of overwriting what concurrent requests wrote.
  #changes: Map<string, unknown> | null = null;
  // The whole data must be written over the stored one: `clear()` was called, or the caller set
  // `modified` by hand after changing a value in place (Django's idiom), so which keys changed
  // is unknown.
  #replaceAll = false;
  #wholeValues = false;
  // The data came from a stored record, so a save may merge into that record.
  #stored = false;
  // The stored value as loaded, when the store gave it: the first guess of `update`.
  #version: string | undefined;

  /**
   * Whether the request carried a session cookie, valid or refused: an emptied session then
   * gets a deletion cookie (Django's `SESSION_COOKIE_NAME in request.COOKIES`).
   */
  readonly cookieSent: boolean;

  /**
   * @param sessionKey - the key from the request's cookie, already validated (or `null`)
   * @param cookieSent - whether the request carried a session cookie, valid or not
   */
  constructor(settings: SessionSettings, sessionKey: string | null, cookieSent = false) {
    this.#settings = settings;
    this.#sessionKey = sessionKey;
    this.cookieSent = cookieSent;
  }

  /**
   * Whether the data was changed during this request (so it must be saved). Set it to `true`
   * yourself after changing a value in place (`(await session.get('cart')).push(item)`), as in
   * Django: the save then writes every value of this request over the stored ones.
   */
  get modified(): boolean {
    return this.#modified;
  }

  set modified(value: boolean) {
    this.#modified = value;
    if (value) this.#wholeValues = true;
  }

  /** The key of the stored record, `null` while the session has none. */
  get sessionKey(): string | null {
    return this.#sessionKey;
  }

  /**
   * Whether loading failed and, under the manager's `failOpen`, this request got an anonymous
   * session instead: the manager then neither saves it nor touches its cookie.
   */
  get storeFailed(): boolean {
    return this.#storeFailed;
  }

  /** The value under `key`, or `fallback` (default `undefined`) when there is none. */
  async get<K extends keyof T & string>(key: K): Promise<T[K] | undefined>;
  async get<K extends keyof T & string, F>(key: K, fallback: F): Promise<T[K] | F>;
  async get(key: string, fallback?: unknown): Promise<unknown> {
    const data = await this.#data();
    return Object.hasOwn(data, key) ? data[key] : fallback;
  }

  /** Stores `value` under `key`. */
  async set<K extends keyof T & string>(key: K, value: T[K]): Promise<void> {
    this.#put(await this.#data(), key, value);
  }

  /** Whether the session has a value under `key` (Django's `key in session`). */
  async has(key: keyof T & string): Promise<boolean> {
    return Object.hasOwn(await this.#data(), key);
  }

  /**
   * Removes `key` from the data (Django's `del session[key]`); not to be confused with
   * {@link deleteRecord}. @returns whether the key was there
   */
  async delete(key: keyof T & string): Promise<boolean> {
    const data = await this.#data();
    if (!Object.hasOwn(data, key)) return false;
    this.#remove(data, key);
    return true;
  }

  /** Removes `key` and returns its value, or `fallback` when it was not there (then nothing changes). */
  async pop<K extends keyof T & string>(key: K): Promise<T[K] | undefined>;
  async pop<K extends keyof T & string, F>(key: K, fallback: F): Promise<T[K] | F>;
  async pop(key: string, fallback?: unknown): Promise<unknown> {
    const data = await this.#data();
    if (!Object.hasOwn(data, key)) return fallback;
    const value = data[key];
    this.#remove(data, key);
    return value;
  }

  /** Returns the value under `key`; when there is none, stores `value` there first and returns it. */
  async setDefault<K extends keyof T & string>(key: K, value: T[K]): Promise<T[K]> {
    const data = await this.#data();
    if (Object.hasOwn(data, key)) return data[key] as T[K];
    this.#put(data, key, value);
    return value;
  }

  /** Copies every entry of `values` into the data. */
  async update(values: Partial<T>): Promise<void> {
    const data = await this.#data();
    for (const [key, value] of Object.entries(values)) this.#put(data, key, value);
    this.#modified = true;
  }

  /** The keys of the data, including Django's `_session_expiry` when set. */
  async keys(): Promise<string[]> {
    return Object.keys(await this.#data());
  }

  /** The values of the data. */
  async values(): Promise<unknown[]> {
    return Object.values(await this.#data());
  }

  /** The `[key, value]` pairs of the data. */
  async items(): Promise<[string, unknown][]> {
    return Object.entries(await this.#data());
  }

  /**
   * Empties the data but keeps the key (the record is saved empty). To log a user out use
   * {@link flush}.
   */
  async clear(): Promise<void> {
    // Django drops the cache without loading it, then counts the session as used and changed.
    this.#cache = {};
    this.#changes = null;
    this.#replaceAll = true;
    this.accessed = true;
    this.#modified = true;
  }

  /**
   * Whether the session has neither a key nor data. Never loads: a session with a key is not
   * empty, a keyless one is empty unless data was set on it.
   */
  isEmpty(): boolean {
    if (this.#sessionKey !== null) return false;
    return this.#cache === null || Object.keys(this.#cache).length === 0;
  }

  /**
   * Deletes the stored record and empties the session, leaving it with no key: what logging out
   * does. The manager then deletes the cookie.
   */
  async flush(): Promise<void> {
    await this.clear();
    await this.deleteRecord();
    this.#sessionKey = null;
    this.#emit({ type: 'flushed' });
  }

  /**
   * Moves the data to a new key and deletes the old record, so a key an attacker planted before
   * login is worthless after it (session fixation). Call it when privileges change.
   */
  async cycleKey(): Promise<void> {
    const data = await this.#data();
    const oldKey = this.#sessionKey;
    // A new key is a new session for the absolute timeout: a login restarts it.
    if (this.#settings.absoluteTimeout !== undefined) delete data[TIMEOUT_KEYS.createdAt];
    await this.create();
    this.#cache = data;
    if (oldKey !== null) await this.#settings.store.delete(oldKey);
    this.#emit({ type: 'rotated' });
  }

  /**
   * Files the session under `userId` (kept in the data as `_keepstate_user`), so that the store's
   * `listSessions(userId)` lists it and `deleteUserSessions(userId)` ends it: "log out
   * everywhere". A session logged in with {@link login} is filed under Django's
   * `_auth_user_id` already. `null` removes the user.
   */
  async setUser(userId: string | number | null, options: SetUserOptions = {}): Promise<void> {
    const data = await this.#data();
    if (userId === null) {
      for (const key of Object.values(USER_SESSION_KEYS)) {
        if (Object.hasOwn(data, key)) this.#remove(data, key);
      }
      return;
    }
    this.#put(data, USER_SESSION_KEYS.userId, String(userId));
    const { userAgent } = options;
    if (userAgent !== undefined) {
      this.#put(data, USER_SESSION_KEYS.userAgent, userAgent.slice(0, MAX_USER_AGENT_LENGTH));
    }
  }

  /** The user the session is filed under: `setUser`'s, else Django's login; `undefined` if none. */
  async getUser(): Promise<string | undefined> {
    return sessionUserId(await this.#data());
  }

  /**
   * Sets this session's expiry, stored in the data under `_session_expiry` as Django stores it:
   * a number of seconds of inactivity (0 means when the browser closes, a negative number
   * expires it at once), a `Date` for a fixed instant (kept as Python's ISO format), or `null`
   * to fall back to the global policy (`cookieAge`, `expireAtBrowserClose`).
   */
  async setExpiry(value: Expiry): Promise<void> {
    if (value === null) {
      await this.delete(EXPIRY_KEY as keyof T & string);
      return;
    }
    const stored = value instanceof Date ? isoformat(value) : value;
    this.#put(await this.#data(), EXPIRY_KEY, stored);
  }

  /**
   * Seconds until the session expires, counted from `modification` (default now), floored:
   * `cookieAge` when no expiry is set, including browser-close sessions (Django's quirk).
   */
  async getExpiryAge(query: ExpiryQuery = {}): Promise<number> {
    const expiry = 'expiry' in query ? query.expiry : (await this.#data())[EXPIRY_KEY];
    return expiryAge(
      expiry,
      query.modification ?? this.#settings.clock(),
      this.#settings.cookieAge,
    );
  }

  /** The instant the session expires, counted from `modification` (default now). */
  async getExpiryDate(query: ExpiryQuery = {}): Promise<Date> {
    const expiry = 'expiry' in query ? query.expiry : (await this.#data())[EXPIRY_KEY];
    return expiryDate(
      expiry,
      query.modification ?? this.#settings.clock(),
      this.#settings.cookieAge,
    );
  }

  /** Whether the cookie should last only until the browser closes. */
  async getExpireAtBrowserClose(): Promise<boolean> {
    return this.#atBrowserClose(await this.#data());
  }

  #atBrowserClose(data: SessionData): boolean {
    const expiry = data[EXPIRY_KEY];
    if (expiry === undefined || expiry === null) return this.#settings.expireAtBrowserClose;
    return expiry === 0;
  }

  /**
   * Writes the data to the store: an update of the existing record, or a new record under a new
   * key when the session has none (or `mustCreate`).
   *
   * @throws UpdateError when the record vanished meanwhile (the manager turns it into
   *   {@link SessionInterrupted})
   */
  async save(mustCreate = false): Promise<void> {
    if (this.#sessionKey === null) {
      await this.create();
      return;
    }
    if (mustCreate) this.#cache ??= {};
    const data = this.#cache ?? (await this.#data());
    const sessionKey = this.#sessionKey;
    // Loading found no record: it was deleted after this request began.
    if (sessionKey === null) throw new UpdateError('The session no longer exists');
    const store = this.#settings.store;
    if (mustCreate) {
      this.#sessionKey = await store.create(this.#record(sessionKey, data));
    } else if (store.update !== undefined && this.#stored && !this.#replaceAll) {
      const version = this.#version;
      this.#sessionKey = await store.update(
        sessionKey,
        (latest) => this.#merge(sessionKey, latest),
        version === undefined ? undefined : { version, data },
      );
      this.#emit({ type: 'saved', merged: true });
    } else {
      this.#sessionKey = await store.save(this.#record(sessionKey, data));
      this.#emit({ type: 'saved', merged: false });
    }
    // Saved: from now on the stored record holds this data, and further saves merge into it.
    this.#changes = null;
    this.#replaceAll = false;
    this.#wholeValues = false;
    this.#stored = true;
    this.#version = undefined;
  }

  /**
   * Seconds since the data was last saved, from the stamp `touchAfter` keeps in it; `undefined`
   * when it carries none. Loads the session.
   */
  async secondsSinceSave(): Promise<number | undefined> {
    const stamp = (await this.#data())[TIMEOUT_KEYS.savedAt];
    if (typeof stamp !== 'number') return undefined;
    return nowMs(this.#settings.clock) / 1000 - stamp;
  }

  /**
   * The `Max-Age` of the session's cookie in seconds, `undefined` for a browser-session cookie:
   * {@link getExpiryAge}, cut short by the absolute timeout when one is set.
   */
  async cookieMaxAge(): Promise<number | undefined> {
    const data = await this.#data();
    if (this.#atBrowserClose(data)) return undefined;
    const now = this.#settings.clock();
    const age = expiryAge(data[EXPIRY_KEY], now, this.#settings.cookieAge);
    const deadline = this.#deadline(data);
    if (deadline === undefined) return age;
    return Math.min(age, Math.floor((deadline - now.getTime()) / 1000));
  }

  // The instant (ms) the absolute timeout ends the session, when one is set and stamped.
  #deadline(data: SessionData): number | undefined {
    const timeout = this.#settings.absoluteTimeout;
    const created = data[TIMEOUT_KEYS.createdAt];
    if (timeout === undefined || typeof created !== 'number') return undefined;
    return (created + timeout) * 1000;
  }

  // The record to write for `data`, stamped with what the timeouts need.
  #record(sessionKey: string, data: SessionData): SessionRecord {
    const { clock, cookieAge, absoluteTimeout, touchAfter } = this.#settings;
    const now = clock();
    const seconds = Math.floor(now.getTime() / 1000);
    if (absoluteTimeout !== undefined && typeof data[TIMEOUT_KEYS.createdAt] !== 'number') {
      put(data, TIMEOUT_KEYS.createdAt, seconds);
    }
    if (touchAfter !== undefined) put(data, TIMEOUT_KEYS.savedAt, seconds);
    let expiresAt = expiryDate(data[EXPIRY_KEY], now, cookieAge);
    const deadline = this.#deadline(data);
    if (deadline !== undefined && deadline < expiresAt.getTime()) expiresAt = new Date(deadline);
    const userId = sessionUserId(data);
    const userAgent = userId === undefined ? undefined : sessionUserAgent(data);
    return {
      sessionKey,
      data,
      expiresAt,
      ...(userId !== undefined && { userId }),
      ...(userAgent !== undefined && { userAgent }),
    };
  }

  // This request's changes applied to the latest stored data: what `update` writes.
  #merge(sessionKey: string, latest: SessionData): SessionRecord {
    const data: SessionData = {};
    for (const [key, value] of Object.entries(latest)) put(data, key, value);
    if (this.#wholeValues && this.#cache !== null) {
      for (const [key, value] of Object.entries(this.#cache)) put(data, key, value);
    }
    for (const [key, value] of this.#changes ?? []) {
      if (value === REMOVED) delete data[key];
      else put(data, key, value);
    }
    // The request goes on with what is stored now, other requests' changes included.
    this.#cache = data;
    return this.#record(sessionKey, data);
  }

  /**
   * Stores the current data under a new random key.
   *
   * @throws CreateError when no free key was found in 10 attempts
   */
  async create(): Promise<void> {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      this.#sessionKey = generateSessionKey();
      try {
        await this.save(true);
        this.#modified = true;
        this.#emit({ type: 'created' });
        return;
      } catch (error) {
        if (!(error instanceof CreateError)) {
          // The key was never stored: keeping it would make the next save an update of nothing.
          this.#sessionKey = null;
          throw error;
        }
      }
    }
    this.#sessionKey = null;
    throw new CreateError(`No free session key after ${CREATE_ATTEMPTS} attempts`);
  }

  /**
   * Reads the stored data of this session's key; `{}` (and no key) when there is no live record.
   *
   * @throws StoreError when the store fails or times out, unless the manager's `failOpen` is
   *   on: then `{}`, no key, and {@link storeFailed} is `true`
   */
  async load(): Promise<SessionData> {
    const key = this.#sessionKey;
    let record: SessionRecord | null;
    try {
      record = key === null ? null : await this.#settings.store.load(key);
    } catch (error) {
      if (!(error instanceof StoreError && this.#settings.failOpen)) throw error;
      this.#storeFailed = true;
      this.#sessionKey = null;
      this.#settings.logger?.warn('Session store failed: serving an anonymous session (failOpen)', {
        error: error.message,
      });
      return {};
    }
    if (record !== null) {
      const deadline = this.#deadline(record.data);
      if (deadline !== undefined && deadline <= nowMs(this.#settings.clock)) {
        this.#emit({ type: 'expired', reason: 'absoluteTimeout' });
        record = null;
      }
    }
    if (record === null) {
      // An unknown or expired key is never adopted: whatever is saved gets a new key.
      this.#sessionKey = null;
      if (key !== null) this.#emit({ type: 'loaded', found: false });
      return {};
    }
    this.#stored = true;
    this.#version = record.version;
    // Re-sealed with the current secret: every value is written again.
    if (record.resave === true) this.#modified = true;
    this.#emit({ type: 'loaded', found: true });
    return record.data;
  }

  /** Whether a live record exists under `sessionKey`. */
  exists(sessionKey: string): Promise<boolean> {
    return this.#settings.store.exists(sessionKey);
  }

  /** Deletes the stored record of `sessionKey` (default: this session's); Django's `delete()`. */
  async deleteRecord(sessionKey: string | null = this.#sessionKey): Promise<void> {
    if (sessionKey !== null) await this.#settings.store.delete(sessionKey);
  }

  // Sets a value and notes the change.
  #put(data: SessionData, key: string, value: unknown): void {
    put(data, key, value);
    this.#changed(key, value);
  }

  // Removes a key and notes the change.
  #remove(data: SessionData, key: string): void {
    delete data[key];
    this.#changed(key, REMOVED);
  }

  #changed(key: string, value: unknown): void {
    this.#changes ??= new Map();
    this.#changes.set(key, value);
    this.#modified = true;
  }

  #emit(event: SessionEvent): void {
    this.#settings.logger?.event?.(event);
  }

  #data(): Promise<SessionData> | SessionData {
    this.accessed = true;
    if (this.#cache !== null) return this.#cache;
    // Concurrent first reads share one load; a clear() that ran meanwhile wins over its result.
    this.#loading ??= this.load().then((data) => {
      this.#cache ??= data;
      return this.#cache;
    });
    return this.#loading;
  }
}

/**
 * Stores `value` as an own property, also under names such as `__proto__`, which a plain
 * assignment would take as the object's prototype instead of data.
 */
function put(data: SessionData, key: string, value: unknown): void {
  // Any other key is a plain data property of a plain object, which assignment makes just the
  // same, and much faster; only `__proto__` has a setter on Object.prototype.
  if (key === '__proto__') {
    Object.defineProperty(data, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    data[key] = value;
  }
}
