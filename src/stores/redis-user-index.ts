import { type IndexedSession, indexedSessionOf } from './indexed-session.js';
import { RedisScript, type RedisScriptClient } from './redis-script.js';

/**
 * The Redis commands a {@link RedisUserIndex} sends, typed so that an ioredis `Redis` and
 * `Cluster` both fit without a cast. Every command names one key.
 */
export interface RedisUserIndexClient extends RedisScriptClient {
  hgetall(key: string): Promise<Record<string, string>>;
}

/** One field of a user's index, as {@link RedisUserIndex.read} found it. */
export interface RedisIndexField {
  readonly sessionKey: string;
  /** The field's value as read: a prune removes the field only if it still holds this. */
  readonly text: string;
  /** `null` when the value is not an entry this store wrote. */
  readonly entry: IndexedSession | null;
}

// Keeps the createdAt of an entry already there, so the first filing under this user is the
// one remembered; the hash lives as long as its longest-lived entry.
const FILE = new RedisScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
local created = old and string.match(old, '^{"createdAt":(%d+),') or ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], '{"createdAt":' .. created .. ',' .. string.sub(ARGV[3], 2))
local ttl = tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`);

// Removes each field only if it still holds the value read: a session filed again meanwhile
// stays listed.
const PRUNE = new RedisScript(`
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return removed
`);

/**
 * The sessions of each user, for {@link RedisStore}'s `listSessions` and `deleteUserSessions`:
 * one hash per user, `[prefix:]keepstate:user:<user id>`, the user id percent-encoded as
 * `encodeURIComponent` does (a lone surrogate as `%uXXXX`), so no user id can reach into another
 * key. A field is a session key; its value is JSON,
 * `{"createdAt":…,"lastActivity":…,"expiresAt":…,"userAgent":"…"}`, instants in epoch
 * milliseconds. The hash's TTL is raised to each filed session's, so it never outlives the
 * longest-lived of them.
 *
 * The index only ever says which sessions *may* belong to a user: a session deleted, expired or
 * filed under another user since stays in it until {@link RedisUserIndex.prune} removes it. Every command names
 * the one hash, which on a Redis Cluster lives in another slot than the sessions.
 */
export class RedisUserIndex {
  readonly #client: RedisUserIndexClient;
  readonly #prefix: string;

  /** @param prefix - the store's prefix, `''` for none */
  constructor(client: RedisUserIndexClient, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  /** The hash that holds `userId`'s sessions. */
  key(userId: string): string {
    const key = `keepstate:user:${escapeUserId(userId)}`;
    return this.#prefix === '' ? key : `${this.#prefix}:${key}`;
  }

  /**
   * Files `sessionKey` under `userId`, with one script: `HSET` of its entry (keeping the
   * `createdAt` already there), and `PEXPIRE` of the hash to `ttl` when that is longer than the
   * hash's own.
   *
   * @param now - the manager's clock: the session's `lastActivity`, and its `createdAt` if new
   * @param ttl - milliseconds the session lives, positive
   */
  async file(
    userId: string,
    sessionKey: string,
    session: { readonly now: Date; readonly expiresAt: Date; readonly userAgent?: string },
    ttl: number,
  ): Promise<void> {
    const now = session.now.getTime();
    const rest = JSON.stringify({
      lastActivity: now,
      expiresAt: session.expiresAt.getTime(),
      ...(session.userAgent !== undefined && { userAgent: session.userAgent }),
    });
    await FILE.run(this.#client, this.key(userId), [sessionKey, now, rest, ttl]);
  }

  /** Every field of `userId`'s hash, with one `HGETALL`; `[]` when it has none. */
  async read(userId: string): Promise<RedisIndexField[]> {
    const hash = await this.#client.hgetall(this.key(userId));
    return Object.entries(hash).map(([sessionKey, text]) => ({
      sessionKey,
      text,
      entry: parseEntry(text),
    }));
  }

  /**
   * Removes `fields` from `userId`'s hash, each only if it still holds the value read, with one
   * script (Redis drops the hash with its last field); nothing is sent when `fields` is empty.
   */
  async prune(userId: string, fields: readonly RedisIndexField[]): Promise<void> {
    if (fields.length === 0) return;
    const args = fields.flatMap((field) => [field.sessionKey, field.text]);
    await PRUNE.run(this.#client, this.key(userId), args);
  }
}

function parseEntry(text: string): IndexedSession | null {
  try {
    return indexedSessionOf(JSON.parse(text));
  } catch {
    return null;
  }
}

/** `encodeURIComponent`, which throws on a lone surrogate; one is written `%uXXXX` instead. */
function escapeUserId(userId: string): string {
  let escaped = '';
  for (const char of userId) {
    const code = char.charCodeAt(0);
    escaped +=
      char.length === 1 && code >= 0xd800 && code <= 0xdfff
        ? `%u${code.toString(16).toUpperCase()}`
        : encodeURIComponent(char);
  }
  return escaped;
}
