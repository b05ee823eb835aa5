import { CreateError, UpdateError } from '../core/errors.js';
import type {
  ClearExpiredOptions,
  DeleteUserSessionsOptions,
  LoadedVersion,
  SessionData,
  SessionMerge,
  SessionRecord,
  SessionStore,
  StoreContext,
  UserSession,
} from '../core/session-store.js';
import { type Clock, nowMs, systemClock } from '../signing/clock.js';
import { pythonJsonParse, pythonJsonStringify } from '../signing/python-json.js';
import { userSessionOf } from './indexed-session.js';

/** Options of a {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The most sessions kept; past it the least recently used is dropped. Default 100,000. */
  readonly maxSessions?: number;
  /**
   * Seconds between sweeps of expired sessions by a timer that never keeps the process alive;
   * default 60, `0` for no timer (then only reads and {@link MemoryStore.clearExpired} drop
   * them).
   */
  readonly pruneInterval?: number;
  /** Defaults to the manager's clock, or the system clock. */
  readonly clock?: Clock;
}

// setInterval takes at most 2^31 - 1 milliseconds.
const MAX_INTERVAL = 2_147_483;

interface Entry {
  readonly json: string;
  readonly expiresAt: number;
}

// A session filed under a user. Anonymous sessions stay plain `Entry` objects, so they pay
// nothing for the user index (bytes per session, docs/PERFORMANCE.md).
interface UserEntry extends Entry {
  readonly userId: string;
  readonly userAgent?: string;
  readonly createdAt: number;
  readonly lastActivity: number;
}

/**
 * Keeps sessions in this process's memory: the reference store, for tests, development and
 * single-process sites. Data is kept as JSON text, so what comes back is a copy and anything a
 * durable store could not save fails here too. Bounded: the least recently used session is
 * dropped once `maxSessions` are held, so it never holds more than that, and a timer sweeps
 * out expired sessions every `pruneInterval` seconds, so they do not wait for the bound to push
 * them out. The timer is `unref`'d and holds the store only weakly: it neither keeps the process
 * alive nor keeps a store nobody uses in memory.
 *
 * Sessions do not survive a restart and are not shared between processes.
 *
 * `update` reads, merges and writes in one synchronous step, so it is atomic without a lock.
 * Sessions written with a `userId` are also filed in a user index (a map from user to session
 * keys), which `listSessions` and `deleteUserSessions` read; a save under another user, a delete,
 * an eviction or an expiry takes the session out of it. Anonymous sessions are not indexed and
 * cost no more than before.
 *
 * @throws RangeError from the constructor when `maxSessions` is not a positive integer or
 *   `pruneInterval` not a non-negative number of seconds
 */
export class MemoryStore implements SessionStore {
  /** Records live in this process: no call can hang. */
  readonly inProcess: boolean = true;
  readonly #entries = new Map<string, Entry>();
  readonly #users = new Map<string, Map<string, UserEntry>>();
  readonly #maxSessions: number;
  #clock: Clock;
  readonly #ownClock: boolean;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxSessions = options.maxSessions ?? 100_000;
    this.#clock = options.clock ?? systemClock;
    this.#ownClock = options.clock !== undefined;
    if (!Number.isSafeInteger(this.#maxSessions) || this.#maxSessions < 1) {
      throw new RangeError(
        `MemoryStore: maxSessions must be a positive integer, got ${String(this.#maxSessions)}`,
      );
    }
    const interval = options.pruneInterval ?? 60;
    if (typeof interval !== 'number' || !(interval >= 0 && interval <= MAX_INTERVAL)) {
      throw new RangeError(
        `MemoryStore: pruneInterval must be 0 (no timer) or a number of seconds up to ${MAX_INTERVAL}, got ${String(interval)}`,
      );
    }
    if (interval > 0) {
      // Weakly held, so the timer does not keep a store that nobody uses alive.
      const store = new WeakRef(this);
      const timer = setInterval(() => {
        const live = store.deref();
        if (live === undefined) clearInterval(timer);
        else void live.clearExpired();
      }, interval * 1000);
      timer.unref();
    }
  }

  /** Takes the manager's clock unless one was given to the constructor. */
  attach(context: StoreContext): void {
    if (!this.#ownClock) this.#clock = context.clock;
  }

  /** How many records are held, expired ones included until they are swept or read. */
  get size(): number {
    return this.#entries.size;
  }

  async load(sessionKey: string): Promise<SessionRecord | null> {
    const entry = this.#live(sessionKey);
    if (entry === undefined) return null;
    // Re-inserting moves the key to the end of the Map's order: the most recently used.
    this.#entries.delete(sessionKey);
    this.#entries.set(sessionKey, entry);
    return {
      sessionKey,
      data: pythonJsonParse(entry.json) as SessionData,
      expiresAt: new Date(entry.expiresAt),
      version: entry.json,
    };
  }

  async create(record: SessionRecord): Promise<string> {
    if (this.#live(record.sessionKey) !== undefined) {
      throw new CreateError('The session key is taken');
    }
    this.#put(record.sessionKey, record, undefined);
    return record.sessionKey;
  }

  async save(record: SessionRecord): Promise<string> {
    // Like Django's db engine, an update needs the record to be there, not to be unexpired.
    const previous = this.#entries.get(record.sessionKey);
    if (previous === undefined) throw new UpdateError('The session no longer exists');
    this.#entries.delete(record.sessionKey);
    this.#put(record.sessionKey, record, previous);
    return record.sessionKey;
  }

  /**
   * Merges into the live record and writes the result in one synchronous step: nothing can come
   * in between, so `merge` is called exactly once.
   *
   * @throws UpdateError when no live record has the key
   */
  async update(sessionKey: string, merge: SessionMerge, loaded?: LoadedVersion): Promise<string> {
    const previous = this.#live(sessionKey);
    if (previous === undefined) throw new UpdateError('The session no longer exists');
    // Unchanged since the request loaded it (the very text): its data needs no second parse.
    const latest =
      loaded !== undefined && loaded.version === previous.json
        ? loaded.data
        : (pythonJsonParse(previous.json) as SessionData);
    const record = merge(latest);
    this.#entries.delete(sessionKey);
    this.#put(sessionKey, record, previous);
    return sessionKey;
  }

  async delete(sessionKey: string): Promise<void> {
    const entry = this.#entries.get(sessionKey);
    if (entry !== undefined) this.#remove(sessionKey, entry);
  }

  /**
   * The live sessions filed under `userId`; `createdAt` is when the session was first written
   * under this user, `lastActivity` when it was last written, both by the store's clock.
   */
  async listSessions(userId: string): Promise<UserSession[]> {
    const sessions = this.#users.get(userId);
    if (sessions === undefined) return [];
    const now = nowMs(this.#clock);
    const listed: UserSession[] = [];
    for (const [sessionKey, entry] of sessions) {
      if (entry.expiresAt <= now) continue;
      listed.push(userSessionOf(sessionKey, entry));
    }
    return listed;
  }

  /**
   * Deletes every session filed under `userId` but `options.except`.
   * @returns how many live sessions were deleted (expired ones are dropped too, uncounted)
   */
  async deleteUserSessions(
    userId: string,
    options: DeleteUserSessionsOptions = {},
  ): Promise<number> {
    const sessions = this.#users.get(userId);
    if (sessions === undefined) return 0;
    const now = nowMs(this.#clock);
    let deleted = 0;
    for (const [sessionKey, entry] of [...sessions]) {
      if (sessionKey === options.except) continue;
      this.#remove(sessionKey, entry);
      if (entry.expiresAt > now) deleted++;
    }
    return deleted;
  }

  async exists(sessionKey: string): Promise<boolean> {
    return this.#live(sessionKey) !== undefined;
  }

  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = nowMs(this.#clock);
    let deleted = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#remove(key, entry);
        deleted++;
      }
    }
    options.onProgress?.(deleted);
    return deleted;
  }

  /**
   * Up to `limit` live sessions, most recently used first. Listing neither counts as use nor
   * drops the expired sessions it skips.
   *
   * @throws RangeError when `limit` is not a non-negative integer
   */
  async list(limit: number): Promise<SessionRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`MemoryStore: list() takes a non-negative integer, got ${limit}`);
    }
    const now = nowMs(this.#clock);
    const live: [string, Entry][] = [];
    for (const item of this.#entries) if (item[1].expiresAt > now) live.push(item);
    // The Map is in least-recently-used order: the last `limit` are the most recent.
    return live
      .slice(Math.max(0, live.length - limit))
      .reverse()
      .map(([sessionKey, entry]) => ({
        sessionKey,
        data: pythonJsonParse(entry.json) as SessionData,
        expiresAt: new Date(entry.expiresAt),
      }));
  }

  #live(sessionKey: string): Entry | undefined {
    const entry = this.#entries.get(sessionKey);
    if (entry === undefined || entry.expiresAt > nowMs(this.#clock)) return entry;
    this.#remove(sessionKey, entry);
    return undefined;
  }

  /**
   * Writes `record` under `sessionKey` (already taken out of the Map's order by the caller) and
   * keeps the user index in step with `previous`, the entry it replaces.
   */
  #put(sessionKey: string, record: SessionRecord, previous: Entry | undefined): void {
    // Python's JSON, as the other stores write: integers beyond 2^53 (bigint) survive too.
    const json = pythonJsonStringify(record.data);
    const expiresAt = record.expiresAt.getTime();
    const userId = record.userId;
    const before = previous as UserEntry | undefined;
    if (before?.userId !== undefined && before.userId !== userId) {
      this.#unindex(sessionKey, before.userId);
    }
    if (userId === undefined) {
      this.#entries.set(sessionKey, { json, expiresAt });
    } else {
      const now = nowMs(this.#clock);
      const entry: UserEntry = {
        json,
        expiresAt,
        userId,
        ...(record.userAgent !== undefined && { userAgent: record.userAgent }),
        createdAt: before?.userId === userId ? before.createdAt : now,
        lastActivity: now,
      };
      this.#entries.set(sessionKey, entry);
      let sessions = this.#users.get(userId);
      if (sessions === undefined) {
        sessions = new Map();
        this.#users.set(userId, sessions);
      }
      sessions.set(sessionKey, entry);
    }
    if (this.#entries.size > this.#maxSessions) {
      // Evict the least recently used 1% at once: a Map's iterator walks the slots of deleted
      // entries until it rehashes, so dropping one at a time made every create at the bound
      // cost a walk (44 µs each, measured in bench/scale).
      const target = this.#maxSessions - Math.floor(this.#maxSessions / 100);
      for (const [key, entry] of this.#entries) {
        if (this.#entries.size <= target) break;
        this.#remove(key, entry);
      }
    }
  }

  #remove(sessionKey: string, entry: Entry): void {
    this.#entries.delete(sessionKey);
    const userId = (entry as UserEntry).userId;
    if (userId !== undefined) this.#unindex(sessionKey, userId);
  }

  #unindex(sessionKey: string, userId: string): void {
    const sessions = this.#users.get(userId);
    if (sessions === undefined) return;
    sessions.delete(sessionKey);
    if (sessions.size === 0) this.#users.delete(userId);
  }
}
