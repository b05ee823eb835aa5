import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLock } from './file-lock.js';
import type { IndexedSession } from './indexed-session.js';

/** The content of one user's index file. */
interface IndexFile {
  /** The user, in full: the file name is only its hash. */
  readonly user: string;
  readonly sessions: Record<string, IndexedSession>;
}

/**
 * The user index of a {@link FileStore}: one JSON file per user, `<sha256(userId)>.json`, in a
 * folder of its own, mapping the session keys filed under the user to {@link IndexedSession}.
 * Each change rewrites the file under a {@link FileLock} (`<name>.lock`) through a temporary file
 * (`<name>.<12 hex digits>.tmp`) and a rename, so readers need no lock.
 *
 * The index only says where to look: the session files stay the truth. The store checks each
 * listed session's file (still there, live, and still the user's) before trusting an entry, and
 * prunes the entries that fail.
 */
export class FileUserIndex {
  /** The folder the index files are in. */
  readonly folder: string;
  #made: Promise<unknown> | null = null;

  constructor(folder: string) {
    this.folder = folder;
  }

  /**
   * The entries filed under `userId`, read without a lock (files are replaced whole); empty when
   * the user has none.
   *
   * @throws Error when the index file is not the index of `userId` (edited by hand, say)
   */
  async read(userId: string): Promise<Map<string, IndexedSession>> {
    return new Map(Object.entries((await this.#load(userId)).sessions));
  }

  /**
   * Files `sessionKey` under `userId` with `lastActivity` `at`, keeping the `createdAt` of an
   * entry already there unless `fresh` (the session was someone else's, or anonymous, before).
   * Entries whose expiry hint has passed and whose session file `isGone` are dropped on the way,
   * so the file does not grow with every login of a user who never lists their sessions.
   */
  async file(
    userId: string,
    sessionKey: string,
    entry: {
      readonly at: number;
      readonly expiresAt: number;
      readonly userAgent: string | undefined;
      readonly fresh: boolean;
    },
    isGone: (sessionKey: string) => Promise<boolean>,
  ): Promise<void> {
    await this.#makeFolder();
    await this.#locked(userId, async () => {
      const { sessions } = await this.#load(userId);
      const kept: Record<string, IndexedSession> = {};
      for (const [key, old] of Object.entries(sessions)) {
        if (key !== sessionKey && !(old.expiresAt <= entry.at && (await isGone(key)))) {
          kept[key] = old;
        }
      }
      const previous = sessions[sessionKey];
      kept[sessionKey] = {
        createdAt: previous !== undefined && !entry.fresh ? previous.createdAt : entry.at,
        lastActivity: entry.at,
        expiresAt: entry.expiresAt,
        ...(entry.userAgent !== undefined && { userAgent: entry.userAgent }),
      };
      await this.#store(userId, kept);
    });
  }

  /**
   * Takes session keys out of the index of `userId`. A key mapped to a number is removed only if
   * its entry's `lastActivity` is still that number (nobody filed it again since it was read);
   * a key mapped to `undefined` is removed whatever its entry holds. The file is deleted when no
   * entry is left.
   */
  async remove(userId: string, keys: ReadonlyMap<string, number | undefined>): Promise<void> {
    if (keys.size === 0) return;
    await this.#locked(userId, async () => {
      const { sessions } = await this.#load(userId);
      const kept: Record<string, IndexedSession> = {};
      let changed = false;
      for (const [key, entry] of Object.entries(sessions)) {
        const seen = keys.get(key);
        if (keys.has(key) && (seen === undefined || seen === entry.lastActivity)) changed = true;
        else kept[key] = entry;
      }
      if (!changed) return;
      if (Object.keys(kept).length > 0) await this.#store(userId, kept);
      else await unlink(this.#path(userId)).catch(ignoreMissing);
    });
  }

  #path(userId: string): string {
    // A hash, so any user id (slashes, dots, any length) makes a safe, fixed-length file name.
    return join(this.folder, `${createHash('sha256').update(userId).digest('hex')}.json`);
  }

  async #locked<T>(userId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await new FileLock(`${this.#path(userId)}.lock`).run(run);
    } catch (error) {
      // Someone removed the folder since it was made: make it again, once.
      if (code(error) !== 'ENOENT') throw error;
      this.#made = null;
      await this.#makeFolder();
      return new FileLock(`${this.#path(userId)}.lock`).run(run);
    }
  }

  async #load(userId: string): Promise<IndexFile> {
    let text: string;
    try {
      text = await readFile(this.#path(userId), 'utf8');
    } catch (error) {
      if (code(error) === 'ENOENT') return { user: userId, sessions: {} };
      throw error;
    }
    const parsed = JSON.parse(text) as Partial<IndexFile> | null;
    if (parsed?.user !== userId || typeof parsed.sessions !== 'object' || !parsed.sessions) {
      throw new Error('a user index file does not hold the index of its user');
    }
    return parsed as IndexFile;
  }

  async #store(userId: string, sessions: Record<string, IndexedSession>): Promise<void> {
    const file = this.#path(userId);
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const content: IndexFile = { user: userId, sessions };
    const handle = await open(temporary, 'wx', 0o600);
    let renamed = false;
    try {
      try {
        await handle.writeFile(JSON.stringify(content), 'utf8');
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      renamed = true;
    } finally {
      if (!renamed) await unlink(temporary).catch(() => {});
    }
  }

  #makeFolder(): Promise<unknown> {
    this.#made ??= mkdir(this.folder, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
      this.#made = null;
      throw error;
    });
    return this.#made;
  }
}

function code(error: unknown): string | undefined {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === 'string' ? value : undefined;
}

function ignoreMissing(error: unknown): void {
  if (code(error) !== 'ENOENT') throw error;
}
