import { sessionKeyHash } from '../core/session-key.js';
import type { UserSession } from '../core/session-store.js';

/**
 * One session as a store's user index keeps it beside the session (memory, file, Redis,
 * memcached); instants in milliseconds since the epoch.
 */
export interface IndexedSession {
  /** When the session was first filed under the user. */
  readonly createdAt: number;
  /** When the session was last written. */
  readonly lastActivity: number;
  /** The session's expiry at its last write by keepstate. */
  readonly expiresAt: number;
  readonly userAgent?: string;
}

/**
 * `raw` (parsed JSON read back from a backend) as an {@link IndexedSession}, or `null` when it is
 * not one keepstate wrote: the backend is shared, so anything may be there.
 */
export function indexedSessionOf(raw: unknown): IndexedSession | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { createdAt, lastActivity, expiresAt, userAgent } = raw as Record<string, unknown>;
  if (
    !Number.isSafeInteger(createdAt) ||
    !Number.isSafeInteger(lastActivity) ||
    !Number.isSafeInteger(expiresAt)
  ) {
    return null;
  }
  return {
    createdAt: createdAt as number,
    lastActivity: lastActivity as number,
    expiresAt: expiresAt as number,
    ...(typeof userAgent === 'string' && { userAgent }),
  };
}

/**
 * The {@link UserSession} that `listSessions` gives for the indexed session under `sessionKey`.
 *
 * @param expiresAt - the session's own expiry, when the store read it; else the indexed one
 */
export function userSessionOf(
  sessionKey: string,
  entry: IndexedSession,
  expiresAt: Date = new Date(entry.expiresAt),
): UserSession {
  return {
    keyHash: sessionKeyHash(sessionKey),
    createdAt: new Date(entry.createdAt),
    lastActivity: new Date(entry.lastActivity),
    expiresAt,
    ...(entry.userAgent !== undefined && { userAgent: entry.userAgent }),
  };
}
