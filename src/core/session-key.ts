import { createHash, randomFillSync } from 'node:crypto';
import { saltedHmac } from '../signing/salted-hmac.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
// 252 is the largest multiple of 36 below 256: bytes at or above it are dropped so every
// character is equally likely (no modulo bias).
const UNBIASED_LIMIT = 252;
const KEY_LENGTH = 32;
const VALID_KEY = /^[a-z0-9]{8,40}$/;

/**
 * Makes a new session key: 32 characters of `[a-z0-9]` from the operating system's CSPRNG, as
 * Django's `get_random_string(32, VALID_KEY_CHARS)`.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/base.py
 */
export function generateSessionKey(): string {
  let key = '';
  while (key.length < KEY_LENGTH) {
    if (poolIndex === POOL_BYTES) {
      randomFillSync(pool);
      poolIndex = 0;
    }
    const byte = pool[poolIndex]!;
    // Each byte is used once and then cleared, so no key shares randomness with another.
    pool[poolIndex++] = 0;
    if (byte < UNBIASED_LIMIT) key += ALPHABET[byte % 36];
  }
  return key;
}

// Random bytes drawn 4 KiB at a time (about 90 keys), not 48 bytes per key: one call into the
// CSPRNG instead of one per key.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolIndex = POOL_BYTES;

/**
 * Whether `value` can be a session key of a server-side store: 8 to 40 characters of `[a-z0-9]`.
 * Django treats keys under 8 characters as no session; keepstate also refuses any other
 * character, so no SQL, Redis glob or path syntax can ever reach a backend.
 */
export function isValidSessionKey(value: string): boolean {
  return VALID_KEY.test(value);
}

// Namespaces the tag's HMAC key, so a tag is never a valid signature of anything else.
const TAG_SALT = 'keepstate.core.sessionKeyTag';

/**
 * A short, salted fingerprint of a session key or cookie value, for logs and error messages
 * that need to tell sessions apart: the first 12 hex digits of an HMAC-SHA256 keyed with the
 * secret. The key itself is a credential and never appears in a message; the tag cannot be
 * turned back into it, nor computed without the secret.
 *
 * @param secret - the manager's `secret`
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html#data-to-exclude
 */
export function sessionKeyTag(sessionKey: string, secret: string | Buffer): string {
  return saltedHmac(TAG_SALT, sessionKey, secret, 'sha256').toString('hex').slice(0, 12);
}

/**
 * SHA-256 of a session key, in hex: what a user's session list shows instead of the key, so a
 * page can mark "this device" and name the others without handing out credentials.
 */
export function sessionKeyHash(sessionKey: string): string {
  return createHash('sha256').update(sessionKey).digest('hex');
}
