import { CookieTooLarge } from './errors.js';

/**
 * The most bytes one cookie may have, name, value and attributes together: what browsers keep
 * per cookie (RFC 6265, section 6.1). A bigger one is dropped by the browser without a word.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-6.1
 */
export const COOKIE_SIZE_LIMIT = 4096;

// `; Max-Age=` `; Path=/` `; Expires=` + 29 (`Wdy, DD Mon YYYY HH:MM:SS GMT`) `; HttpOnly`
// `; Secure` `; SameSite=Lax`: the attributes a cookie store's session cookie is counted with.
const SESSION_ATTRIBUTE_BYTES = 10 + 8 + 10 + 29 + 10 + 8 + 14;

/**
 * The bytes of the `Set-Cookie` a cookie store's value will go out in, counted rather than
 * built (it runs on every save): name, `=`, value, and keepstate's default attributes plus
 * `Secure`. A `Domain` or a longer `Path` set on the manager is not counted.
 *
 * @param maxAge - seconds, as `Max-Age` will carry them
 */
export function sessionCookieBytes(name: string, value: string, maxAge: number): number {
  return (
    Buffer.byteLength(name) +
    1 +
    Buffer.byteLength(value) +
    SESSION_ATTRIBUTE_BYTES +
    String(Math.max(0, Math.floor(maxAge))).length
  );
}

/**
 * Refuses a cookie browsers would drop.
 *
 * @param advice - ends the message: what the caller can do instead
 * @throws CookieTooLarge when `bytes` pass {@link COOKIE_SIZE_LIMIT}
 */
export function checkCookieSize(name: string, bytes: number, advice: string): void {
  if (bytes <= COOKIE_SIZE_LIMIT) return;
  throw new CookieTooLarge(
    `keepstate: the ${name} cookie would be ${bytes} bytes (name, value and attributes), over the ${COOKIE_SIZE_LIMIT} bytes browsers keep, so a browser would drop it${advice}`,
    { bytes, limit: COOKIE_SIZE_LIMIT },
  );
}

/** The advice of the cookie stores: the whole session is in the cookie. */
export const SESSION_COOKIE_ADVICE =
  ' and lose the session. Store less in the session (keep large data on the server and only its id in the session), or use a server-side store such as FileStore, which puts only the session key in the cookie.';
