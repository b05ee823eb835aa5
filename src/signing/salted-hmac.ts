import crypto, { createHash, createHmac } from 'node:crypto';

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

// `crypto.hash` (Node 20.12+) hashes in one call, without the Hash/Hmac stream objects that
// `createHmac` builds per signature; older Node 20 releases use `createHmac`.
const oneShotHash = (crypto as { hash?: typeof crypto.hash }).hash;
const BLOCK_BYTES: Readonly<Record<HashAlgorithm, number>> = { sha1: 64, sha256: 64, sha512: 128 };
// Messages up to this many bytes are assembled here instead of in a new Buffer: signing is
// synchronous, so one module-wide scratch buffer is never used by two calls at once.
const SCRATCH_BYTES = 8192;
let scratch: Buffer | null = null;

/**
 * An HMAC key prepared once: the padded inner and outer keys of RFC 2104, so that each
 * {@link HmacKey.digest} is two one-shot hashes with no per-call key set-up. The output is
 * exactly `createHmac(algorithm, key).update(value).digest()`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc2104#section-2
 */
export class HmacKey {
  /** The hash of the HMAC. */
  readonly algorithm: HashAlgorithm;
  readonly #key: Buffer;
  readonly #inner: Buffer;
  readonly #outer: Buffer;

  /** @param key - the HMAC key (a derived key from {@link deriveKey}); copied */
  constructor(algorithm: HashAlgorithm, key: Buffer) {
    this.algorithm = algorithm;
    this.#key = Buffer.from(key);
    const block = BLOCK_BYTES[algorithm];
    // RFC 2104: a key longer than the block is hashed first.
    const padded = Buffer.alloc(block);
    (key.length > block ? createHash(algorithm).update(key).digest() : key).copy(padded);
    const digestBytes = createHash(algorithm).digest().length;
    this.#inner = Buffer.alloc(block);
    this.#outer = Buffer.alloc(block + digestBytes);
    for (let i = 0; i < block; i++) {
      this.#inner[i] = (padded[i] ?? 0) ^ 0x36;
      this.#outer[i] = (padded[i] ?? 0) ^ 0x5c;
    }
  }

  /** The raw HMAC of `value` (a string is encoded as UTF-8). */
  digest(value: string | Buffer): Buffer {
    if (oneShotHash === undefined) {
      const hmac = createHmac(this.algorithm, this.#key);
      return typeof value === 'string'
        ? hmac.update(value, 'utf8').digest()
        : hmac.update(value).digest();
    }
    const block = this.#inner.length;
    let message: Buffer;
    // At most 3 UTF-8 bytes per UTF-16 unit, so a short string always fits the scratch buffer.
    if (typeof value === 'string' && value.length * 3 <= SCRATCH_BYTES - block) {
      scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
      this.#inner.copy(scratch, 0);
      message = scratch.subarray(0, block + scratch.write(value, block, 'utf8'));
    } else {
      message = Buffer.concat([
        this.#inner,
        typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
      ]);
    }
    const outer = this.#outer;
    oneShotHash(this.algorithm, message, 'buffer').copy(outer, block);
    return oneShotHash(this.algorithm, outer, 'buffer');
  }
}
