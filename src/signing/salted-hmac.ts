import { createHash, createHmac } from 'node:crypto';

/** A hash function name accepted by {@link saltedHmac} and the signers. */
export type HashAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** Every {@link HashAlgorithm}, for validating options that come from plain JavaScript. */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha1', 'sha256', 'sha512'];

const MAX_CACHED_KEYS = 256;
const derivedKeys = new Map<string, Buffer>();

/**
 * Derives the HMAC key Django uses for a key salt and secret: `H((keySalt + secret) as UTF-8)`.
 *
 * Results are memoised (bounded), so `dumps`/`loads`, which build a signer per call, do not hash
 * the secret again on every request.
 *
 * @param keySalt - the salt, used as is (a signer passes `salt + 'signer'`)
 * @param secret - a string (encoded as UTF-8, like Django's `force_bytes`) or raw bytes
 * @param algorithm - the hash used both to derive the key and, later, for the HMAC
 * @returns the digest of `keySalt + secret`; do not mutate it, it is shared
 * @see https://github.com/django/django/blob/stable/5.2.x/django/utils/crypto.py
 */
export function deriveKey(
  keySalt: string,
  secret: string | Buffer,
  algorithm: HashAlgorithm,
): Buffer {
  const secretId = typeof secret === 'string' ? `s${secret}` : `b${secret.toString('hex')}`;
  // Length-prefixed so that no (secret, salt) pair can collide with another one.
  const id = `${algorithm}:${secretId.length}:${secretId}${keySalt}`;
  let key = derivedKeys.get(id);
  if (key === undefined) {
    key = createHash(algorithm)
      .update(keySalt, 'utf8')
      .update(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret)
      .digest();
    if (derivedKeys.size >= MAX_CACHED_KEYS) derivedKeys.clear();
    derivedKeys.set(id, key);
  }
  return key;
}

/**
 * Computes Django's `salted_hmac`: an HMAC of `value` keyed with `H(keySalt + secret)`.
 *
 * Strings are encoded as UTF-8. The default algorithm is `sha1`, as in Django's function (the
 * signers always pass `sha256`); pass the algorithm explicitly to avoid surprises.
 *
 * @param keySalt - namespaces the key; a signer uses `salt + 'signer'`
 * @param value - the message to authenticate
 * @param secret - Django's `SECRET_KEY` (or `'django.http.cookies' + SECRET_KEY` for cookies)
 * @param algorithm - `sha1` (default, like Django), `sha256` or `sha512`
 * @returns the raw HMAC digest
 * @see https://github.com/django/django/blob/stable/5.2.x/django/utils/crypto.py
 */
export function saltedHmac(
  keySalt: string,
  value: string | Buffer,
  secret: string | Buffer,
  algorithm: HashAlgorithm = 'sha1',
): Buffer {
  const hmac = createHmac(algorithm, deriveKey(keySalt, secret, algorithm));
  return typeof value === 'string'
    ? hmac.update(value, 'utf8').digest()
    : hmac.update(value).digest();
}
