import { CreateError, UpdateError } from '../core/errors.js';
import type {
  ClearExpiredOptions,
  SessionRecord,
  SessionStore,
  StoreContext,
} from '../core/session-store.js';
import type { Clock } from '../signing/clock.js';
import { systemClock } from '../signing/clock.js';

/** Options of a {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The most sessions kept; past it the least recently used is dropped. Default 100,000. */
  readonly maxSessions?: number;
  /** Defaults to the manager's clock, or the system clock. */
  readonly clock?: Clock;
}

interface Entry {
  readonly json: string;
  readonly expiresAt: number;
}

/**
 * Keeps sessions in this process's memory: the reference store, for tests, development and
 * single-process sites. Data is kept as JSON text, so what comes back is a copy and anything a
 * durable store could not save fails here too. Bounded: the least recently used session is
 * dropped once `maxSessions` are held, so it cannot grow without limit.
 *
 * Sessions do not survive a restart and are not shared between processes.
 */
export class MemoryStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxSessions: number;
  #clock: Clock;
  readonly #ownClock: boolean;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxSessions = options.maxSessions ?? 100_000;
    this.#clock = options.clock ?? systemClock;
    this.#ownClock = options.clock !== undefined;
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
    return { sessionKey, data: JSON.parse(entry.json), expiresAt: new Date(entry.expiresAt) };
  }

  async create(record: SessionRecord): Promise<string> {
    if (this.#live(record.sessionKey) !== undefined) {
      throw new CreateError(`Session key ${record.sessionKey.slice(0, 6)}… is taken`);
    }
    this.#put(record);
    return record.sessionKey;
  }

  async save(record: SessionRecord): Promise<string> {
    // Like Django's db engine, an update needs the record to be there, not to be unexpired.
    if (!this.#entries.has(record.sessionKey)) {
      throw new UpdateError(`Session ${record.sessionKey.slice(0, 6)}… no longer exists`);
    }
    this.#entries.delete(record.sessionKey);
    this.#put(record);
    return record.sessionKey;
  }

  async delete(sessionKey: string): Promise<void> {
    this.#entries.delete(sessionKey);
  }

  async exists(sessionKey: string): Promise<boolean> {
    return this.#live(sessionKey) !== undefined;
  }

  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const now = this.#clock().getTime();
    let deleted = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
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
    const now = this.#clock().getTime();
    const live: [string, Entry][] = [];
    for (const item of this.#entries) if (item[1].expiresAt > now) live.push(item);
    // The Map is in least-recently-used order: the last `limit` are the most recent.
    return live
      .slice(Math.max(0, live.length - limit))
      .reverse()
      .map(([sessionKey, entry]) => ({
        sessionKey,
        data: JSON.parse(entry.json),
        expiresAt: new Date(entry.expiresAt),
      }));
  }

  #live(sessionKey: string): Entry | undefined {
    const entry = this.#entries.get(sessionKey);
    if (entry === undefined || entry.expiresAt > this.#clock().getTime()) return entry;
    this.#entries.delete(sessionKey);
    return undefined;
  }

  #put(record: SessionRecord): void {
    const json = JSON.stringify(record.data);
    this.#entries.set(record.sessionKey, { json, expiresAt: record.expiresAt.getTime() });
    if (this.#entries.size > this.#maxSessions) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
