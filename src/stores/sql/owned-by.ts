import type { SessionCodec } from '../../core/session-codec.js';
import { sessionKeyHash } from '../../core/session-key.js';
import type { UserSession } from '../../core/session-store.js';
import { sessionUserId } from '../../core/session-user.js';
import { parseExpireDateText } from './expire-date-text.js';

/**
 * Whether stored session data still belongs to `userId`, read from the data itself (its
 * `_keepstate_user`, else Django's `_auth_user_id`). The SQL stores' user index is a lookup aid,
 * not the truth: a session written anonymously (or by Django) since it was filed keeps its old
 * index row, and this check is what keeps it out of that user's list.
 *
 * @param encoded - `session_data` as stored; data that does not decode belongs to nobody
 */
export function ownedBy(codec: SessionCodec, encoded: unknown, userId: string): boolean {
  if (typeof encoded !== 'string') return false;
  const data = codec.decode(encoded);
  return data !== null && sessionUserId(data) === userId;
}

/** The columns of a user index row joined with its session that a listing reads. */
export interface ListedRow {
  readonly session_key: unknown;
  readonly session_data: unknown;
  readonly user_agent?: unknown;
}

/** The times of a listed session, as the dialect returned them. */
export interface ListedTimes {
  readonly createdAt: Date | null;
  readonly lastActivity: Date | null;
  readonly expiresAt: Date | null;
}

/** A listed row's times as Django's naive UTC text (`2023-11-28 22:13:20`): SQLite and MySQL. */
export interface TextTimesRow {
  readonly created_at: unknown;
  readonly last_activity: unknown;
  readonly expire_date: unknown;
}

/** The {@link ListedTimes} of a row whose times are Django's naive UTC text. */
export function textTimes(row: TextTimesRow): ListedTimes {
  return {
    createdAt: parseExpireDateText(String(row.created_at)),
    lastActivity: parseExpireDateText(String(row.last_activity)),
    expiresAt: parseExpireDateText(String(row.expire_date)),
  };
}

/**
 * `[the UserSession of row]`, or `[]` when a time did not parse or the data no longer names
 * `userId` (see {@link ownedBy}): ready for `flatMap` over a listing's rows.
 */
export function listedSession(
  codec: SessionCodec,
  userId: string,
  row: ListedRow,
  { createdAt, lastActivity, expiresAt }: ListedTimes,
): UserSession[] {
  if (createdAt === null || lastActivity === null || expiresAt === null) return [];
  if (!ownedBy(codec, row.session_data, userId)) return [];
  return [
    {
      keyHash: sessionKeyHash(String(row.session_key)),
      createdAt,
      lastActivity,
      expiresAt,
      ...(typeof row.user_agent === 'string' && { userAgent: row.user_agent }),
    },
  ];
}

/**
 * What "log out everywhere" does with the candidate rows of `userId` (their index rows joined
 * with their sessions): `owned`, the keys of the sessions whose data still names the user, to
 * delete; `unfiled`, every candidate's key, whose index row goes either way. `except` is skipped.
 */
export function ownedSessions(
  codec: SessionCodec,
  userId: string,
  rows: readonly ListedRow[],
  except: string | null | undefined,
): { owned: string[]; unfiled: string[] } {
  const owned: string[] = [];
  const unfiled: string[] = [];
  for (const row of rows) {
    const sessionKey = String(row.session_key);
    if (sessionKey === except) continue;
    if (ownedBy(codec, row.session_data, userId)) owned.push(sessionKey);
    unfiled.push(sessionKey);
  }
  return { owned, unfiled };
}
