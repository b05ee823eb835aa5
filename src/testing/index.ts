export {
  type MintSessionCookieOptions,
  mintSessionCookie,
} from './mint-session-cookie.js';
export { type HeaderRecord, readSession, type SetCookieSource } from './read-session.js';
