import { timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { ImproperlyConfigured } from '../improperly-configured.js';
import { BadSignature } from './errors.js';
import { JsonSerializer, type Serializer } from './json-serializer.js';
import { deriveKey, HASH_ALGORITHMS, type HashAlgorithm, HmacKey } from './salted-hmac.js';

// Django's _SEP_UNSAFE, `^[A-z0-9-_=]*$`: the range A-z also spans the six characters [\]^_`.
const SEP_UNSAFE = /^[\x41-\x7a0-9=-]*$/;

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_VALUES = new Int8Array(128).fill(-1);
for (const [index, char] of [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
].entries()) {
  BASE64URL_VALUES[char.charCodeAt(0)] = index;
}

/**
 * Zlib never makes fewer than 10 bytes of a payload of 2 bytes or more: 6 of framing (header and
 * Adler-32), and a deflate block of at least 30 bits (3 of block header, the first byte as a
 * literal of at least 8 bits, at least one match of at least 12 bits for the rest, since a
 * dynamic-Huffman header alone exceeds that, and the end-of-block code of 7 bits). Compression is
 * kept only when 2 bytes shorter, so it cannot win below this many bytes and is not attempted.
 */
const MIN_COMPRESSIBLE_BYTES = 12;

/**
 * Whether zlib cannot shorten `data` by 2 bytes, so that deflating it would be wasted (Django
 * then keeps the plain form anyway). True below {@link MIN_COMPRESSIBLE_BYTES}, and up to 24
 * bytes when no 3 bytes repeat (deflate's shortest match is 3 bytes, so every byte is then a
 * literal) and the literals cannot fit: a stored block costs 5 bytes over the data, a fixed one
 * at least 8 bits per literal, a dynamic one at least 26 bits of header plus the data's entropy
 * (no Huffman code beats it), and zlib adds 6 bytes of framing.
 */
function cannotCompress(data: Buffer): boolean {
  const n = data.length;
  if (n < MIN_COMPRESSIBLE_BYTES) return true;
  if (n > 24) return false;
  for (let i = 0; i + 2 < n; i++) {
    for (let j = i + 1; j + 2 < n; j++) {
      if (data[i] === data[j] && data[i + 1] === data[j + 1] && data[i + 2] === data[j + 2]) {
        return false;
      }
    }
  }
  // n·H in bits = n·log2(n) − Σ c·log2(c) over the byte counts c.
  let bits = n * Math.log2(n);
  for (let i = 0; i < n; i++) {
    let seen = false;
    let count = 0;
    for (let j = 0; j < n; j++) {
      if (data[j] === data[i]) {
        if (j < i) seen = true;
        count++;
      }
    }
    if (!seen) bits -= count * Math.log2(count);
  }
  // Compressed is kept when its length < n - 1; it is at least 6 + (26 + n·H) / 8 bytes. One
  // bit of margin for rounding.
  return 6 + (26 + bits - 1) / 8 >= n - 1;
}

/** The largest decompressed payload `unsignObject`/`loads` accept by default: 1 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 1024 * 1024;

/**
 * Options of a {@link Signer}: Django's `Signer(key=..., sep=..., salt=..., algorithm=...,
 * fallback_keys=...)`.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#django.core.signing.Signer
 */
export interface SignerOptions {
  /** Django's `key` / `SECRET_KEY`; a string is encoded as UTF-8. Must not be empty. */
  secret: string | Buffer;
  /**
   * Django's `SECRET_KEY_FALLBACKS`: unsigning tries `secret`, then each of these in order;
   * signing always uses `secret`.
   */
  fallbackSecrets?: readonly (string | Buffer)[] | undefined;
  /**
   * Namespaces the signatures. Default (also for `''`, as in Django):
   * `'django.core.signing.Signer'`, or `'django.core.signing.TimestampSigner'` for a
   * `TimestampSigner`.
   */
  salt?: string | undefined;
  /** Separates value, timestamp and signature. Default `':'`. */
  sep?: string | undefined;
  /** The HMAC hash. Default `'sha256'`; unsigning accepts only this one (Django 4.0+). */
  algorithm?: HashAlgorithm | undefined;
}

/** Options of {@link Signer.signObject}. */
export interface SignObjectOptions {
  /** Turns the value into bytes. Default {@link JsonSerializer}. */
  serializer?: Serializer | undefined;
  /** Deflate the bytes when that saves at least two bytes (the payload then starts with `.`). */
  compress?: boolean | undefined;
}

/** Options of {@link Signer.unsignObject}. */
export interface UnsignObjectOptions {
  /** Turns the bytes back into a value. Default {@link JsonSerializer}. */
  serializer?: Serializer | undefined;
  /** Maximum age of the signature in seconds; only a `TimestampSigner` accepts it. */
  maxAge?: number | undefined;
  /**
   * Cap on the size of a decompressed payload, in bytes (a signed zip bomb is still a bomb).
   * Default {@link DEFAULT_MAX_DECOMPRESSED_BYTES}.
   */
  maxDecompressedBytes?: number | undefined;
}

function checkSecret(secret: unknown, option: string): asserts secret is string | Buffer {
  if (!(typeof secret === 'string' || Buffer.isBuffer(secret)) || secret.length === 0) {
    throw new ImproperlyConfigured(
      `The ${option} option must be a non-empty string or Buffer (Django's SECRET_KEY); ` +
        "for example crypto.randomBytes(50).toString('base64url'), kept out of the source.",
    );
  }
}

/**
 * The bytes of a signature, or `null` unless it is the canonical base64url text of
 * `digestBytes` bytes (no padding, unused low bits zero): Django compares the text, so a
 * signature that decodes to the right bytes but is spelled otherwise must not verify.
 */
function signatureBytes(signature: string, digestBytes: number): Buffer | null {
  if (!BASE64URL.test(signature)) return null;
  const unusedBits = signature.length * 6 - digestBytes * 8;
  if (unusedBits < 0 || unusedBits >= 6) return null;
  const last = BASE64URL_VALUES[signature.charCodeAt(signature.length - 1)] ?? -1;
  if ((last & ((1 << unusedBits) - 1)) !== 0) return null;
  return Buffer.from(signature, 'base64url');
}

/**
 * Decodes the payload of a verified signed object: strips the `.` compression marker, decodes
 * base64url, inflates (bounded), and hands the bytes to the serializer.
 */
function decodePayload(payload: string, serializer: Serializer, maxBytes: number): unknown {
  const compressed = payload.startsWith('.');
  let data = Buffer.from(compressed ? payload.slice(1) : payload, 'base64url');
  if (compressed) {
    try {
      data = inflateSync(data, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new RangeError(
          `Decompressed payload is larger than maxDecompressedBytes (${maxBytes} bytes)`,
          { cause: error },
        );
      }
      throw error;
    }
  }
  return serializer.loads(data);
}

/**
 * Signs strings and objects with an HMAC, byte-compatible with Django's `django.core.signing.Signer`:
 * `value + sep + base64url(HMAC(H(salt + 'signer' + secret), value))` without `=` padding.
 *
 * Derived keys are computed once, in the constructor; verification compares in constant time
 * and tries `secret` then each fallback secret.
 *
 * @example
 * new Signer({ secret: 'interop-secret', salt: 'my-salt' }).sign('hello')
 * // 'hello:EKt3jcVVETaxKcq3_q4mg2Ib8pBHFnE61Lcm9lnIy_8'
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#using-the-low-level-api
 * @see https://github.com/django/django/blob/stable/5.2.x/django/core/signing.py
 */
export class Signer {
  /** The salt used when the `salt` option is missing or empty. */
  protected static readonly defaultSalt: string = 'django.core.signing.Signer';

  /** The separator between value, timestamp and signature. */
  readonly sep: string;
  /** The effective salt (the default when none or `''` was given). */
  readonly salt: string;
  /** The HMAC hash. */
  readonly algorithm: HashAlgorithm;
  readonly #keySalt: string;
  /** Prepared HMAC keys for `secret` then each fallback secret, in order. */
  readonly #keys: readonly HmacKey[];
  /** Length of a signature: base64url without padding of the digest. */
  readonly #signatureLength: number;
  /** Length of the raw digest, in bytes. */
  readonly #digestBytes: number;

  /**
   * Validates the options and derives the HMAC keys of the secret and each fallback secret.
   *
   * @throws ImproperlyConfigured for an empty secret or fallback secret, an unknown algorithm,
   *   or an unsafe separator (empty, or only `A-z0-9-_=`, which can occur in values and
   *   signatures)
   */
  constructor(options: SignerOptions) {
    const { secret, fallbackSecrets = [], sep = ':', algorithm = 'sha256' } = options;
    checkSecret(secret, 'secret');
    fallbackSecrets.forEach((fallback, index) => {
      checkSecret(fallback, `fallbackSecrets[${index}]`);
    });
    if (!HASH_ALGORITHMS.includes(algorithm)) {
      throw new ImproperlyConfigured(
        `The algorithm option must be one of ${HASH_ALGORITHMS.join(', ')}; got ${String(algorithm)}.`,
      );
    }
    if (typeof sep !== 'string' || SEP_UNSAFE.test(sep)) {
      throw new ImproperlyConfigured(
        `Unsafe Signer separator: ${JSON.stringify(sep)} (the sep option cannot be empty or ` +
          "consist of only A-z0-9-_=; use ':' or another character outside base64url).",
      );
    }
    this.sep = sep;
    this.salt = options.salt || new.target.defaultSalt;
    this.algorithm = algorithm;
    this.#keySalt = `${this.salt}signer`;
    this.#keys = [secret, ...fallbackSecrets].map(
      (key) => new HmacKey(algorithm, deriveKey(this.#keySalt, key, algorithm)),
    );
    this.#digestBytes = this.#keys[0]!.digest('').length;
    this.#signatureLength = Math.ceil((this.#digestBytes * 8) / 6);
  }

  /**
   * Computes the signature of `value`: base64url (no padding) of the salted HMAC.
   *
   * @param secret - sign with this secret instead of the configured one (empty means the
   *   configured one, as in Django)
   */
  signature(value: string, secret?: string | Buffer): string {
    const key =
      secret === undefined || secret.length === 0
        ? this.#keys[0]!
        : new HmacKey(this.algorithm, deriveKey(this.#keySalt, secret, this.algorithm));
    return key.digest(value).toString('base64url');
  }

  /** Appends the separator and the signature to `value`; always signs with `secret`. */
  sign(value: string): string {
    return `${value}${this.sep}${this.signature(value)}`;
  }

  /**
   * Verifies a value made by {@link sign} and returns the value without its signature.
   *
   * The signature is the text after the last separator; it must equal, byte for byte, the one
   * computed with `secret` or any fallback secret.
   *
   * @throws BadSignature `No ":" found in value` or `Signature "…" does not match`
   */
  unsign(signedValue: string): string {
    const index = signedValue.lastIndexOf(this.sep);
    if (index === -1) throw new BadSignature(`No "${this.sep}" found in value`);
    const value = signedValue.slice(0, index);
    const signature = signedValue.slice(index + this.sep.length);
    const given =
      signature.length === this.#signatureLength
        ? signatureBytes(signature, this.#digestBytes)
        : null;
    if (given !== null) {
      // The raw digests are compared in constant time; the length is public (the algorithm's).
      for (const key of this.#keys) {
        if (timingSafeEqual(given, key.digest(value))) return value;
      }
    }
    throw new BadSignature(`Signature "${signature}" does not match`);
  }

  /**
   * Serializes, optionally compresses, base64url-encodes and signs a value (Django's
   * `sign_object`).
   *
   * With `compress`, the deflated bytes are used only when they are at least two bytes shorter
   * than the serialized ones; the payload is then prefixed with `.`.
   *
   * @throws TypeError when the serializer cannot serialize the value
   */
  signObject(value: unknown, options: SignObjectOptions = {}): string {
    const data = (options.serializer ?? JsonSerializer).dumps(value);
    if (options.compress && !cannotCompress(data)) {
      const compressed = deflateSync(data);
      if (compressed.length < data.length - 1)
        return this.sign(`.${compressed.toString('base64url')}`);
    }
    return this.sign(data.toString('base64url'));
  }

  /**
   * Verifies a token made by {@link signObject} (or Django's `sign_object`) and returns the value.
   *
   * The signature (and age) is checked before any base64, zlib or serializer work.
   *
   * @throws BadSignature when the signature does not verify; SignatureExpired when it is too old
   * @throws SyntaxError when the verified payload is not valid JSON (Django: `JSONDecodeError`)
   * @throws Error with `code` `Z_DATA_ERROR`/`Z_BUF_ERROR` when the verified payload is marked
   *   compressed but is not zlib data (Django: `zlib.error`)
   * @throws RangeError when it inflates beyond `maxDecompressedBytes`
   * @throws TypeError when `maxAge` is given to a signer without timestamps
   */
  unsignObject(signedValue: string, options: UnsignObjectOptions = {}): unknown {
    const payload = this.unsignPayload(signedValue, options.maxAge);
    return decodePayload(
      payload,
      options.serializer ?? JsonSerializer,
      options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
    );
  }

  /** Unsigns the payload of a signed object; `TimestampSigner` overrides it to check the age. */
  protected unsignPayload(signedValue: string, maxAge: number | undefined): string {
    if (maxAge !== undefined) {
      throw new TypeError('maxAge needs a TimestampSigner: a Signer token carries no timestamp');
    }
    return this.unsign(signedValue);
  }
}
