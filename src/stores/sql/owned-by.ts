import type { SessionCodec } from '../../core/session-codec.js';
import { sessionUserId } from '../../core/session-user.js';

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
