import type { Clock } from './clock.js';
import type { Serializer } from './json-serializer.js';
import { TimestampSigner } from './timestamp-signer.js';

/** Options of {@link loads}: Django's `signing.loads(s, key, salt, serializer, max_age, fallback_keys)`. */
export interface LoadsOptions {
  /** Django's `key` / `SECRET_KEY`. Must not be empty. */
  secret: string | Buffer;
  /** Django's `SECRET_KEY_FALLBACKS`, tried in order after `secret`. */
  fallbackSecrets?: readonly (string | Buffer)[] | undefined;
  /** Must match the salt given to `dumps`. Default `'django.core.signing'` (`''`: see `dumps`). */
  salt?: string | undefined;
  /** Default {@link JsonSerializer}. */
  serializer?: Serializer | undefined;
  /** Maximum age of the token in seconds; no limit when omitted. */
  maxAge?: number | undefined;
  /** Source of the current time for `maxAge`. Default {@link systemClock}. */
  clock?: Clock | undefined;
  /** Cap on the inflated size of a compressed payload, in bytes. Default 1 MiB. */
  maxDecompressedBytes?: number | undefined;
}

/**
 * Verifies and decodes a token made by {@link dumps} or Django's `signing.dumps`.
 *
 * The signature and the age are checked before any base64, zlib or JSON work, so unsigned input
 * never reaches the decoder.
 *
 * @throws BadSignature when the signature does not verify; SignatureExpired when older than
 *   `maxAge`
 * @throws SyntaxError / a `node:zlib` error / RangeError when a validly signed payload is not
 *   valid JSON / not zlib data / inflates beyond `maxDecompressedBytes` (Django lets its
 *   `JSONDecodeError` and `zlib.error` escape the same way)
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#django.core.signing.loads
 */
export function loads(token: string, options: LoadsOptions): unknown {
  const signer = new TimestampSigner({
    secret: options.secret,
    fallbackSecrets: options.fallbackSecrets,
    salt: options.salt ?? 'django.core.signing',
    clock: options.clock,
  });
  return signer.unsignObject(token, {
    serializer: options.serializer,
    maxAge: options.maxAge,
    maxDecompressedBytes: options.maxDecompressedBytes,
  });
}
