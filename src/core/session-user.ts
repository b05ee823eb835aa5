import { LOGIN_SESSION_KEYS } from './login.js';
import type { SessionData } from './session-store.js';

/**
 * Where {@link Session.setUser} keeps the user a session belongs to, and the browser it was
 * given, in the session's data. Django ignores both; its own login (`_auth_user_id`) counts too.
 */
export const USER_SESSION_KEYS = {
  userId: '_keepstate_user',
  userAgent: '_keepstate_user_agent',
} as const;

/**
 * The user whose index a session's record is filed under: the data's `_keepstate_user`, else
 * Django's `_auth_user_id`, as a string; `undefined` for an anonymous session.
 */
export function sessionUserId(data: SessionData): string | undefined {
  const id = data[USER_SESSION_KEYS.userId] ?? data[LOGIN_SESSION_KEYS.userId];
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' || typeof id === 'bigint') return String(id);
  return undefined;
}

/** The `User-Agent` given to {@link Session.setUser}, when there was one. */
export function sessionUserAgent(data: SessionData): string | undefined {
  const agent = data[USER_SESSION_KEYS.userAgent];
  return typeof agent === 'string' ? agent : undefined;
}
