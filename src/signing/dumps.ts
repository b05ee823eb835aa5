import type { Clock } from './clock.js';
import type { Serializer } from './json-serializer.js';
import { TimestampSigner } from './timestamp-signer.js';

/** Options of {@link dumps}: Django's `signing.dumps(obj, key, salt, serializer, compress)`. */
export interface DumpsOptions {
  /** Django's `key` / `SECRET_KEY`. Must not be empty. */
  secret: string | Buffer;
  /**
   * Accepted so one options object serves `dumps` and `loads`; signing always uses `secret`.
   */
  fallbackSecrets?: readonly (string | Buffer)[] | undefined;
  /**
   * Namespaces the token. Default `'django.core.signing'`. As in Django, `''` does not mean "no
   * salt" but the `TimestampSigner` default, `'django.core.signing.TimestampSigner'`.
   */
  salt?: string | undefined;
  /** Default {@link JsonSerializer}. */
  serializer?: Serializer | undefined;
  /** Deflate the payload when that saves at least two bytes. Default false. */
  compress?: boolean | undefined;
  /** Source of the signing time. Default {@link systemClock}. */
  clock?: Clock | undefined;
}

/**
 * Serializes a value into a URL-safe, signed, timestamped token, byte-compatible with Django's
 * `signing.dumps`: `payload:timestamp:signature`, where the payload is base64url JSON, or `.` and
 * base64url zlib-compressed JSON.
 *
 * @example
 * dumps({ a: 1 }, { secret: 'interop-secret' }) // 'eyJhIjoxfQ:1r31eq:q0rpW8IUZOUrr80qVJG0abbcIJpPAAupcUdX6Jr3f7A'
 * @throws ImproperlyConfigured for an empty secret
 * @throws TypeError when the value cannot be serialized
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#django.core.signing.dumps
 */
export function dumps(value: unknown, options: DumpsOptions): string {
  const signer = new TimestampSigner({
    secret: options.secret,
    salt: options.salt ?? 'django.core.signing',
    clock: options.clock,
  });
  return signer.signObject(value, { serializer: options.serializer, compress: options.compress });
}
