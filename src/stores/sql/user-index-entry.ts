import type { SessionRecord } from '../../core/session-store.js';

/** The longest user id the user index keeps (its `user_id` is `varchar(255)`). */
export const MAX_USER_ID_LENGTH = 255;
/** The longest `User-Agent` the user index keeps (its `user_agent` is `varchar(512)`). */
export const MAX_USER_AGENT_LENGTH = 512;

/** What the SQL stores write to their user index table for one record. */
export interface UserIndexEntry {
  readonly userId: string;
  /** The record's `userAgent`, cut to {@link MAX_USER_AGENT_LENGTH} characters; `null` when none. */
  readonly userAgent: string | null;
}

/**
 * The user index entry of `record`, or `null` for an anonymous record (no `userId`), which the
 * SQL stores write without touching their user index.
 *
 * @throws RangeError when the user id is longer than {@link MAX_USER_ID_LENGTH} characters
 */
export function userIndexEntry(record: SessionRecord): UserIndexEntry | null {
  const { userId, userAgent } = record;
  if (userId === undefined) return null;
  if (userId.length > MAX_USER_ID_LENGTH) {
    throw new RangeError(
      `keepstate: a user id for the session user index is at most ${MAX_USER_ID_LENGTH} characters; got ${userId.length}`,
    );
  }
  return { userId, userAgent: userAgent === undefined ? null : cut(userAgent) };
}

function cut(text: string): string {
  if (text.length <= MAX_USER_AGENT_LENGTH) return text;
  // By code points, so a character outside the BMP is never split into half a surrogate pair.
  return Array.from(text).slice(0, MAX_USER_AGENT_LENGTH).join('');
}
