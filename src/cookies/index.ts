export { CookieNotFound } from './cookie-not-found.js';
export { type DeleteCookieOptions, deleteCookie } from './delete-cookie.js';
export { parseCookie, readCookie } from './parse-cookie.js';
export {
  type CookieOptions,
  CookieSerializer,
  type FixedCookieOptions,
  type SameSite,
  serializeCookie,
} from './serialize-cookie.js';
export {
  type GetSignedCookieOptions,
  getSignedCookie,
  readSignedCookie,
  type SignCookieValueOptions,
  type SignedCookieOptions,
  setSignedCookie,
  signCookieValue,
} from './signed-cookie.js';
