import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { type FileHandle, lstat, open, opendir, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateError, StoreError, UpdateError } from '../core/errors.js';
import { EXPIRY_KEY, parseIsoformat } from '../core/expiry.js';
import { isValidSessionKey } from '../core/session-key.js';
import type {
  ClearExpiredOptions,
  DeleteUserSessionsOptions,
  SessionMerge,
  SessionRecord,
  SessionStore,
  StoreContext,
  UserSession,
} from '../core/session-store.js';
import { sessionUserId } from '../core/session-user.js';
import { StoreBinding } from '../core/store-binding.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import { nowMs } from '../signing/clock.js';
import { FileLock } from './file-lock.js';
import { FileUserIndex } from './file-user-index.js';
import { userSessionOf } from './indexed-session.js';

/** Options of a {@link FileStore}. */
export interface FileStoreOptions {
  /**
   * The folder session files live in (Django's `SESSION_FILE_PATH`); it must exist. Default: the
   * operating system's temporary folder, as Django's `tempfile.gettempdir()`. Prefer a folder only
   * the server's user can open (mode 0700).
   */
  readonly path?: string;
  /**
   * What file names start with, before the session key. Default: the manager's `cookieName`, as
   * Django uses `SESSION_COOKIE_NAME`. Letters, digits and ``!#$%&'*+-.^_`|~`` only.
   */
  readonly prefix?: string;
}

// What a cookie name may hold (an RFC 6265 token): never a path separator.
const PREFIX = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// `<session key>.<12 hex digits>.tmp` after the prefix: the dot keeps it from ever passing for a
// session file, here or in Django's `clear_expired`.
const TEMPORARY = /^[a-z0-9]{8,40}\.[0-9a-f]{12}\.tmp$/;
// `<session key>.lock` after the prefix: a session's lock file, never a session file either.
const LOCK = /^[a-z0-9]{8,40}\.lock$/;
// The user index folder is `keepstate-users.<prefix>`: a folder, which Django's `clear_expired`
// cannot open as a session (and it rarely starts with the prefix at all).
const INDEX_FOLDER = 'keepstate-users.';
const INDEX_TEMPORARY = /^[0-9a-f]{64}\.json\.[0-9a-f]{12}\.tmp$/;
const INDEX_LOCK = /^[0-9a-f]{64}\.json\.lock$/;
// A temporary file outlives its save only when the process died between writing and renaming.
const STALE_TEMPORARY_MS = 3_600_000;
const PROGRESS_EVERY = 100;
const MAX_DATE_MS = 8.64e15;

/** A session file as read at one instant. */
interface Snapshot {
  readonly record: SessionRecord;
  readonly expired: boolean;
  /** The file's inode, to tell it from a file a concurrent save renamed into its place. */
  readonly ino: bigint;
}

/**
 * Keeps each session in its own file, exactly as Django's `file` engine does, so a Django app and
 * keepstate can share the folder: the file `<path>/<prefix><session key>` holds Django's encoded
 * data (no newline, mode 0600), and the session expires at the file's mtime plus `cookieAge`, or
 * at the instant a `Date` given to `setExpiry` names.
 *
 * Beyond Django: a number of seconds given to `setExpiry` counts from the file's mtime (the last
 * save), where Django takes the number itself as the remaining age, so such a session never
 * expires on the server (file.py's `_expiry_date` returns `_session_expiry` as it is, and
 * `get_expiry_age` returns a number as it is). An empty file expires by its mtime too, where
 * Django keeps it forever. A Django app sharing the folder keeps such sessions longer than
 * keepstate does, never shorter.
 *
 * Writes are atomic for readers: `create` opens the file exclusively (`wx`), `save` and `update`
 * write a temporary file beside it and rename it over the session file, so a reader sees the old
 * data or the new, never a mix, and reads take no lock. `save`, `update` and `delete` hold a lock
 * file per session while they work, `<prefix><session key>.lock` (see {@link FileLock}: taken with
 * an exclusive open, broken when older than 3 seconds): `update` reads, merges and writes with no
 * other keepstate write in between, and a logout (`delete`) waits for a write in progress and then
 * wins, since a write that finds the file gone fails with `UpdateError`. The dot keeps the lock
 * file from passing for a session, in keepstate's scans and in Django's `clear_expired` (an
 * invalid key there, skipped). Django processes sharing the folder take no lock (Django rejected
 * one, ticket 8616), so a Django write racing a keepstate one is still last-write-wins, and a
 * Django logout landing between a keepstate write's check and its rename (two system calls) is
 * undone.
 *
 * Sessions written with a `userId` are filed in a user index: a folder `keepstate-users.<prefix>`
 * beside the session files, with one JSON file per user (see {@link FileUserIndex}), written
 * before the session file so a crash can leave an entry too many, never one too few. The session
 * files stay the truth: `listSessions` and `deleteUserSessions` check each indexed session's file
 * (there, live, and still the user's by `_keepstate_user` or `_auth_user_id`) and prune entries
 * that fail; `clearExpired` takes the sessions it deletes out of the index. Django's
 * `clear_expired` skips the folder (it cannot open it as a session file). Sessions written by
 * Django are never indexed, so `deleteUserSessions` does not end them.
 *
 * The file's mtime carries `expiresAt`: it is set, from the manager's clock, so that Django's
 * rule gives `expiresAt` back (for what the core saves, that is the time of the save).
 *
 * Pick it for one server, or a few sharing a folder with each other or with a Django app; with
 * many sessions prefer a database or Redis, since `clearExpired` reads every file.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-file-based-sessions
 * @see https://github.com/django/django/blob/stable/5.2.x/django/contrib/sessions/backends/file.py
 */
export class FileStore implements SessionStore {
  /** The absolute path of the folder the session files are in. */
  readonly path: string;
  readonly #prefix: string | undefined;
  readonly #binding = new StoreBinding('FileStore');
  #index: FileUserIndex | null = null;

  /**
   * Checks the options; the folder must exist already, as Django requires.
   *
   * @throws ImproperlyConfigured when `path` is not an existing folder, or `prefix` holds a
   *   character a cookie name cannot (a path separator, say)
   */
  constructor(options: FileStoreOptions = {}) {
    const folder = resolve(options.path ?? tmpdir());
    let isFolder = false;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch {}
    if (!isFolder) {
      throw new ImproperlyConfigured(
        `keepstate: option \`path\` of FileStore: ${JSON.stringify(folder)} is not an existing folder; create it (mode 0700, owned by the server's user) or pass another one.`,
      );
    }
    if (options.prefix !== undefined && !PREFIX.test(options.prefix)) {
      throw new ImproperlyConfigured(
        `keepstate: option \`prefix\` of FileStore: ${JSON.stringify(options.prefix)} must be one or more letters, digits or !#$%&'*+-.^_\`|~ (as a cookie name), so it can never name another folder.`,
      );
    }
    this.path = folder;
    this.#prefix = options.prefix;
  }

  /** Takes the manager's codec, clock, cookie age and cookie name (the default prefix). */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
  }

  /**
   * Reads the session file. A missing or expired file gives `null` (an expired one is deleted);
   * a file whose content does not verify, or an empty one, is a session with empty data, as in
   * Django. An invalid session key gives `null` without touching any file.
   *
   * @throws StoreError when the file system fails otherwise
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   */
  async load(sessionKey: string): Promise<SessionRecord | null> {
    if (!isValidSessionKey(sessionKey)) return null;
    const snapshot = await this.#read(sessionKey);
    if (snapshot === null) return null;
    if (snapshot.expired) {
      await this.#removeIfSame(sessionKey, snapshot.ino);
      return null;
    }
    return snapshot.record;
  }

  /**
   * Writes a new session file with an exclusive open. An expired file under the key is replaced.
   * A record with a `userId` is filed in the user index first.
   *
   * @throws CreateError when a live session file has the key
   * @throws RangeError when the key is not 8 to 40 characters of `[a-z0-9]`
   * @throws StoreError when the file system fails otherwise
   */
  async create(record: SessionRecord): Promise<string> {
    const file = this.#file(record.sessionKey);
    const content = this.#binding.codec.encode(record.data);
    const times = this.#times(record);
    await this.#fileUnderUser(record.sessionKey, record, true);
    let handle = await this.#openExclusive(file);
    if (handle === null) {
      const existing = await this.#read(record.sessionKey);
      if (existing !== null && !existing.expired) throw taken();
      if (existing !== null) await this.#removeIfSame(record.sessionKey, existing.ino);
      handle = await this.#openExclusive(file);
      if (handle === null) throw taken();
    }
    let written = false;
    try {
      try {
        await this.#fill(handle, content, times);
      } finally {
        await handle.close();
      }
      written = true;
    } catch (error) {
      throw this.#failure('write', error);
    } finally {
      // A half-written file would read as a session with empty data: remove it.
      if (!written) await unlink(file).catch(() => {});
    }
    return record.sessionKey;
  }

  /**
   * Replaces the session file atomically (temporary file, then rename), holding the session's
   * lock file.
   *
   * @throws UpdateError when the file is gone (deleted or expired and swept meanwhile)
   * @throws RangeError when the key is not 8 to 40 characters of `[a-z0-9]`
   * @throws StoreError when the file system fails otherwise, or the lock stays taken
   */
  async save(record: SessionRecord): Promise<string> {
    const file = this.#file(record.sessionKey);
    this.#binding.ensureAttached();
    return this.#locked(record.sessionKey, async () => {
      // Checked before filing the session under its user, so a gone session is not indexed.
      if (!(await this.#present(file))) throw gone();
      await this.#write(record.sessionKey, record, false);
      return record.sessionKey;
    });
  }

  /**
   * Reads the live session file, merges into its data and writes the result (temporary file,
   * then rename), all while holding the session's lock file, so no other keepstate write or
   * delete comes in between and `merge` is called once. A `merge` that throws writes nothing.
   *
   * @throws UpdateError when no live session file has the key (a logout or an expiry won)
   * @throws RangeError when the key is not 8 to 40 characters of `[a-z0-9]`
   * @throws StoreError when the file system fails, or the lock stays taken (4 seconds)
   */
  async update(sessionKey: string, merge: SessionMerge): Promise<string> {
    this.#file(sessionKey);
    this.#binding.ensureAttached();
    return this.#locked(sessionKey, async () => {
      const snapshot = await this.#read(sessionKey);
      if (snapshot === null || snapshot.expired) throw gone();
      const record = merge(snapshot.record.data);
      const fresh = sessionUserId(snapshot.record.data) !== record.userId;
      await this.#write(sessionKey, record, fresh);
      return sessionKey;
    });
  }

  /**
   * The live sessions filed under `userId`, each checked against its session file; entries whose
   * file is gone, expired or now someone else's are pruned from the index. `lastActivity` is the
   * time of the last write by keepstate (the manager's clock); `expiresAt` is read from the file.
   *
   * @throws StoreError when the file system fails
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   */
  async listSessions(userId: string): Promise<UserSession[]> {
    const index = this.#userIndex();
    const entries = await this.#attempt('read', () => index.read(userId));
    const listed: UserSession[] = [];
    const dead = new Map<string, number>();
    for (const [sessionKey, entry] of entries) {
      const snapshot = isValidSessionKey(sessionKey) ? await this.#read(sessionKey) : null;
      if (snapshot === null || snapshot.expired || sessionUserId(snapshot.record.data) !== userId) {
        dead.set(sessionKey, entry.lastActivity);
        continue;
      }
      listed.push(userSessionOf(sessionKey, entry, snapshot.record.expiresAt));
    }
    await this.#attempt('write', () => index.remove(userId, dead));
    return listed;
  }

  /**
   * Deletes every session file filed under `userId` but the one of `options.except`, each under
   * its lock and only if it still belongs to the user, then takes them out of the index.
   *
   * @returns how many live sessions were deleted
   * @throws StoreError when the file system fails
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   */
  async deleteUserSessions(
    userId: string,
    options: DeleteUserSessionsOptions = {},
  ): Promise<number> {
    const index = this.#userIndex();
    const entries = await this.#attempt('read', () => index.read(userId));
    const done = new Map<string, number>();
    let deleted = 0;
    for (const [sessionKey, entry] of entries) {
      if (sessionKey === options.except) continue;
      if (isValidSessionKey(sessionKey)) {
        const ended = await this.#locked(sessionKey, async () => {
          const snapshot = await this.#read(sessionKey);
          if (snapshot === null || sessionUserId(snapshot.record.data) !== userId) return false;
          await this.#unlink(sessionKey);
          return !snapshot.expired;
        });
        if (ended) deleted++;
      }
      done.set(sessionKey, entry.lastActivity);
    }
    await this.#attempt('write', () => index.remove(userId, done));
    return deleted;
  }

  /**
   * Writes `record` over the session file under `sessionKey` (the caller holds the lock and
   * checked the file is there): files it under its user first, then a temporary file and a
   * rename. `fresh`: the session was not the same user's before, so its `createdAt` restarts.
   */
  async #write(sessionKey: string, record: SessionRecord, fresh: boolean): Promise<void> {
    const file = this.#file(sessionKey);
    const content = this.#binding.codec.encode(record.data);
    const times = this.#times(record);
    await this.#fileUnderUser(sessionKey, record, fresh);
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await this.#openExclusive(temporary);
    if (handle === null) throw this.#failure('write', new Error('temporary file name taken'));
    let renamed = false;
    try {
      try {
        await this.#fill(handle, content, times);
      } finally {
        await handle.close();
      }
      // Checked again right before the rename: the lock keeps keepstate's deletes out, not
      // Django's, nor a read that removes the file as expired.
      if (!(await this.#present(file))) throw gone();
      await rename(temporary, file);
      renamed = true;
    } catch (error) {
      if (error instanceof UpdateError || error instanceof StoreError) throw error;
      throw this.#failure('write', error);
    } finally {
      if (!renamed) await unlink(temporary).catch(() => {});
    }
  }

  /**
   * Deletes the session file, holding its lock, so a write in progress finishes first and then
   * finds the file gone; a missing file, or an invalid key, is not an error. The session stays
   * in its user's index until the user's sessions are next listed or deleted.
   *
   * @throws StoreError when the file system fails otherwise, or the lock stays taken
   */
  async delete(sessionKey: string): Promise<void> {
    if (!isValidSessionKey(sessionKey)) return;
    this.#file(sessionKey);
    await this.#locked(sessionKey, () => this.#unlink(sessionKey));
  }

  /**
   * Whether a live session file has this key (an expired one is deleted), unlike Django's
   * `exists`, which only asks whether the file is there.
   * @throws StoreError when the file system fails
   */
  async exists(sessionKey: string): Promise<boolean> {
    return (await this.load(sessionKey)) !== null;
  }

  /**
   * Deletes the expired session files (those whose name is the prefix and a valid key), as
   * Django's `clear_expired` does, and takes those filed under a user out of the user index. The
   * folder is streamed with `opendir`, not listed at once, so its names never all sit in memory.
   * Temporary files left by a process that died while saving are deleted once an hour old, lock
   * files once stale (3 seconds), in the folder and in the user index folder; other files are
   * never touched.
   *
   * @param options - `onProgress` gets the running total every 100 deletions and at the end
   * @returns how many session files were deleted
   * @throws StoreError when the folder or a session file cannot be read or deleted
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store (reading an
   *   expiry needs the secret)
   */
  async clearExpired(options: ClearExpiredOptions = {}): Promise<number> {
    const prefix = this.#filePrefix();
    // The context first: without it nothing can be decoded, and that is not a file system error.
    const now = nowMs(this.#binding.context.clock);
    let deleted = 0;
    // The users whose index lists a deleted session, and those sessions' keys.
    const unindex = new Map<string, Map<string, undefined>>();
    try {
      for await (const entry of await opendir(this.path)) {
        if (!entry.isFile() || !entry.name.startsWith(prefix)) continue;
        const rest = entry.name.slice(prefix.length);
        if (isValidSessionKey(rest)) {
          const snapshot = await this.#read(rest);
          if (snapshot?.expired && (await this.#removeIfSame(rest, snapshot.ino))) {
            deleted++;
            if (deleted % PROGRESS_EVERY === 0) options.onProgress?.(deleted);
            const userId = sessionUserId(snapshot.record.data);
            if (userId !== undefined) {
              const keys = unindex.get(userId) ?? new Map<string, undefined>();
              unindex.set(userId, keys.set(rest, undefined));
            }
          }
        } else if (TEMPORARY.test(rest)) {
          await this.#removeStaleTemporary(join(this.path, entry.name), now);
        } else if (LOCK.test(rest)) {
          await FileLock.removeIfStale(join(this.path, entry.name));
        }
      }
      const index = this.#userIndex();
      for (const [userId, keys] of unindex) await index.remove(userId, keys);
      await this.#sweepIndexFolder(index.folder);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw this.#failure('sweep', error);
    }
    if (deleted === 0 || deleted % PROGRESS_EVERY !== 0) options.onProgress?.(deleted);
    return deleted;
  }

  /**
   * Up to `limit` live sessions, in the order the folder lists its files (for an admin page). It
   * streams the folder and reads each session file until it has `limit` of them, so it costs up
   * to one read per file; expired files are skipped, not deleted.
   *
   * @throws RangeError when `limit` is not a non-negative integer
   * @throws StoreError when the folder or a session file cannot be read
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   */
  async list(limit: number): Promise<SessionRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`FileStore: list() takes a non-negative integer, got ${limit}`);
    }
    const prefix = this.#filePrefix();
    const records: SessionRecord[] = [];
    if (limit === 0) return records;
    try {
      for await (const entry of await opendir(this.path)) {
        if (!entry.isFile() || !entry.name.startsWith(prefix)) continue;
        const rest = entry.name.slice(prefix.length);
        if (!isValidSessionKey(rest)) continue;
        const snapshot = await this.#read(rest);
        if (snapshot === null || snapshot.expired) continue;
        records.push(snapshot.record);
        // Leaving the loop closes the directory handle.
        if (records.length === limit) break;
      }
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw this.#failure('list', error);
    }
    return records;
  }

  #filePrefix(): string {
    return this.#prefix ?? this.#binding.context.cookieName;
  }

  #userIndex(): FileUserIndex {
    const folder = join(this.path, INDEX_FOLDER + this.#filePrefix());
    if (this.#index?.folder !== folder) this.#index = new FileUserIndex(folder);
    return this.#index;
  }

  /** Runs `run` holding the lock file of `sessionKey`; file system errors become StoreError. */
  async #locked<T>(sessionKey: string, run: () => Promise<T>): Promise<T> {
    const lock = new FileLock(`${this.#file(sessionKey)}.lock`);
    let thrown: { readonly error: unknown } | null = null;
    try {
      return await lock.run(async () => {
        try {
          return await run();
        } catch (error) {
          thrown = { error };
          throw error;
        }
      });
    } catch (error) {
      // What the critical section threw (the store's own errors, whatever `merge` threw) goes
      // through as it is; only taking the lock can fail here otherwise.
      if ((thrown as { readonly error: unknown } | null)?.error === error) throw error;
      throw this.#failure('lock', error);
    }
  }

  /** Files the session under `record.userId`, when it has one. */
  async #fileUnderUser(sessionKey: string, record: SessionRecord, fresh: boolean): Promise<void> {
    const userId = record.userId;
    if (userId === undefined) return;
    const index = this.#userIndex();
    const entry = {
      at: nowMs(this.#binding.context.clock),
      expiresAt: record.expiresAt.getTime(),
      userAgent: record.userAgent,
      fresh,
    };
    await this.#attempt('index', () =>
      index.file(userId, sessionKey, entry, async (key) => !(await this.#present(this.#file(key)))),
    );
  }

  /** Runs a user index operation; its file system errors become StoreError. */
  async #attempt<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw this.#failure(action, error, 'a user index file');
    }
  }

  async #unlink(sessionKey: string): Promise<void> {
    try {
      await unlink(this.#file(sessionKey));
    } catch (error) {
      if (code(error) !== 'ENOENT') throw this.#failure('delete', error);
    }
  }

  /** Deletes temporary and lock files left in the user index folder by processes that died. */
  async #sweepIndexFolder(folder: string): Promise<void> {
    let entries: AsyncIterable<{ name: string; isFile(): boolean }>;
    try {
      entries = await opendir(folder);
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      throw error;
    }
    for await (const entry of entries) {
      if (!entry.isFile()) continue;
      if (INDEX_TEMPORARY.test(entry.name)) {
        await this.#removeStaleTemporary(join(folder, entry.name), Date.now());
      } else if (INDEX_LOCK.test(entry.name)) {
        await FileLock.removeIfStale(join(folder, entry.name));
      }
    }
  }

  #file(sessionKey: string): string {
    // Defence in depth: the manager refuses such keys already, but a store can be called directly.
    if (!isValidSessionKey(sessionKey)) {
      throw new RangeError(
        'FileStore: a session key is 8 to 40 characters of [a-z0-9]; this one could name another file',
      );
    }
    return join(this.path, this.#filePrefix() + sessionKey);
  }

  async #read(sessionKey: string): Promise<Snapshot | null> {
    const file = this.#file(sessionKey);
    const { codec, cookieAge, clock } = this.#binding.context;
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (code(error) === 'ENOENT') return null;
      throw this.#failure('read', error);
    }
    try {
      // Stat and content from one open file: one inode, even if a save renames another in.
      const stats = await handle.stat({ bigint: true });
      const text = await handle.readFile('utf8');
      // Django reads an empty file (its placeholder) as an empty session, and bad data as `{}`.
      const data = text === '' ? {} : (codec.decode(text) ?? {});
      const mtime = Number(stats.mtimeNs / 1000n);
      const expiry = data[EXPIRY_KEY];
      const until = instant(expiry) ?? mtime + (lifetime(expiry) ?? cookieAge) * 1_000_000;
      // Django floors the remaining age to whole seconds and expires at 0 (`get_expiry_age(...)
      // <= 0` in file.py), so a file is gone up to a second before the exact instant.
      const expired = until - nowMs(clock) * 1000 < 1_000_000;
      const expiresAt = new Date(Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, until / 1000)));
      return { record: { sessionKey, data, expiresAt }, expired, ino: stats.ino };
    } catch (error) {
      throw this.#failure('read', error);
    } finally {
      await handle.close();
    }
  }

  /** Opens `file` for writing only if it does not exist (mode 0600); `null` when it does. */
  async #openExclusive(file: string): Promise<FileHandle | null> {
    try {
      return await open(file, 'wx', 0o600);
    } catch (error) {
      if (code(error) === 'EEXIST') return null;
      throw this.#failure('create', error);
    }
  }

  /**
   * The access and modification times of a file holding `record`. Its expiry is read back as
   * mtime + seconds (mtime + `cookieAge` when the data holds no number), so the mtime is set to
   * make that sum `expiresAt`, which for what the core saves is the time of the save, as Django
   * writes it. An instant in the data ignores the mtime, so it is simply the time of the save.
   * Both come from the manager's clock, not the file system's, so tests on an injected clock see
   * what production sees.
   */
  #times(record: SessionRecord): { readonly atime: Date; readonly mtime: Date } {
    const { clock, cookieAge } = this.#binding.context;
    const now = clock();
    const expiry = record.data[EXPIRY_KEY];
    if (instant(expiry) !== null) return { atime: now, mtime: now };
    const seconds = lifetime(expiry) ?? cookieAge;
    return { atime: now, mtime: new Date(record.expiresAt.getTime() - seconds * 1000) };
  }

  /** Writes the content, then the times that carry the record's expiry. */
  async #fill(
    handle: FileHandle,
    content: string,
    times: { readonly atime: Date; readonly mtime: Date },
  ): Promise<void> {
    await handle.writeFile(content, 'utf8');
    await handle.utimes(times.atime, times.mtime);
  }

  async #present(file: string): Promise<boolean> {
    try {
      await lstat(file);
      return true;
    } catch (error) {
      if (code(error) === 'ENOENT') return false;
      throw this.#failure('read', error);
    }
  }

  /** Deletes the session file if it is still the one read (inode `ino`); whether it did. */
  async #removeIfSame(sessionKey: string, ino: bigint): Promise<boolean> {
    const file = this.#file(sessionKey);
    try {
      // A save may have renamed a fresh file over the expired one since it was read: keep that.
      if ((await lstat(file, { bigint: true })).ino !== ino) return false;
      await unlink(file);
      return true;
    } catch (error) {
      if (code(error) === 'ENOENT') return false;
      throw this.#failure('delete', error);
    }
  }

  async #removeStaleTemporary(file: string, now: number): Promise<void> {
    try {
      // ctime, not mtime: a save sets the mtime to carry the expiry, but cannot set the ctime.
      if (now - (await lstat(file)).ctimeMs > STALE_TEMPORARY_MS) await unlink(file);
    } catch (error) {
      if (code(error) !== 'ENOENT') throw this.#failure('delete', error);
    }
  }

  #failure(action: string, error: unknown, what = 'a session file'): StoreError {
    // No file name in the message, which is what gets logged: it holds the session key, a
    // credential. `cause` keeps the system's error, path included, for debugging.
    const reason = code(error) ?? (error instanceof Error ? error.message : String(error));
    return new StoreError(`FileStore: cannot ${action} ${what} in ${this.path} (${reason})`, {
      cause: error,
    });
  }
}

/** An ISO instant in the data, in microseconds since the epoch; `null` for anything else. */
function instant(expiry: unknown): number | null {
  return typeof expiry === 'string' ? parseIsoformat(expiry) : null;
}

/**
 * The seconds from the mtime to the expiry that a number in the data gives (beyond Django, see
 * {@link FileStore}); `null` when there is none (also for 0, until the browser closes), so
 * `cookieAge` applies.
 */
function lifetime(expiry: unknown): number | null {
  return typeof expiry === 'number' && Number.isFinite(expiry) && expiry !== 0 ? expiry : null;
}

function code(error: unknown): string | undefined {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === 'string' ? value : undefined;
}

function taken(): CreateError {
  return new CreateError('The session key is taken');
}

function gone(): UpdateError {
  return new UpdateError('The session no longer exists');
}
