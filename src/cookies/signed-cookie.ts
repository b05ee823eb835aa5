import { ImproperlyConfigured } from '../improperly-configured.js';
import type { Clock } from '../signing/clock.js';
import { BadSignature, SignatureExpired, TimestampSigner } from '../signing/index.js';
import { CookieNotFound } from './cookie-not-found.js';
import { type CookieOptions, serializeCookie } from './serialize-cookie.js';

/**
 * What {@link signCookieValue} needs: the current secret, an optional salt and clock.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpResponse.set_signed_cookie
 */
export interface SignCookieValueOptions {
  /** Django's `SECRET_KEY`; a string is used as UTF-8. Must not be empty. */
  secret: string | Buffer;
  /** Django's `salt` argument; `''` by default. */
  salt?: string;
  /** The source of "now" for the signing timestamp; the system clock by default. */
  clock?: Clock;
}

/**
 * The options of {@link setSignedCookie}: the cookie attributes plus the signing keys.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpResponse.set_signed_cookie
 */
export interface SignedCookieOptions extends CookieOptions {
  /** Django's `SECRET_KEY`; a string is used as UTF-8. Must not be empty. */
  secret: string | Buffer;
  /** Django's `SECRET_KEY_FALLBACKS`; never used to sign, accepted for symmetry with reading. */
  fallbackSecrets?: readonly (string | Buffer)[];
  /** Django's `salt` argument; `''` by default. */
  salt?: string;
}

/**
 * The options of {@link getSignedCookie} and {@link readSignedCookie}.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpRequest.get_signed_cookie
 */
export interface GetSignedCookieOptions {
  /** Django's `SECRET_KEY`; a string is used as UTF-8. Must not be empty. */
  secret: string | Buffer;
  /** Django's `SECRET_KEY_FALLBACKS`: older secrets still accepted, tried in order. */
  fallbackSecrets?: readonly (string | Buffer)[];
  /** The salt the cookie was set with; `''` by default. */
  salt?: string;
  /** Maximum age of the signature in seconds; no limit by default. An age equal to it passes. */
  maxAge?: number;
  /**
   * Django's `SIGNED_COOKIE_LEGACY_SALT_FALLBACK` (`true` by default): also accept cookies signed
   * with the salt `name + salt` of Django before 5.2.15/6.0.6, which lets `(name "a", salt "bc")`
   * and `(name "ab", salt "c")` stand in for each other. Turn it off once such cookies have expired.
   */
  legacySaltFallback?: boolean;
  /** The source of "now" for `maxAge`; the system clock by default. */
  clock?: Clock;
}

/** Django's `_cookie_signer_key` prefix, put before `SECRET_KEY` and each fallback. */
const KEY_PREFIX = 'django.http.cookies';

/**
 * Signs a cookie value the way Django 5.2.15+ `set_signed_cookie` does and returns the value to
 * put in the cookie (`value:timestamp:signature`), without any cookie attributes.
 *
 * The signer is a `TimestampSigner` (HMAC-SHA256) keyed with `'django.http.cookies' + secret` and
 * salted with `django.http.cookies.v2:{len(salt)}:{salt}{name}`, where `len` counts code points as
 * Python's `str` does (`'😀'` counts 1), so the signature is bound to both the name and the salt and
 * `(a, bc)` cannot pass for `(ab, c)`.
 *
 * @param name - the cookie name the value is bound to.
 * @param value - the value to sign; it stays readable in the result.
 * @param options - the secret, salt and clock.
 * @returns the signed value.
 * @throws ImproperlyConfigured when `secret` is empty.
 * @see https://github.com/django/django/blob/stable/5.2.x/django/http/response.py
 * @see https://github.com/django/django/blob/stable/5.2.x/django/core/signing.py
 */
export function signCookieValue(
  name: string,
  value: string,
  options: SignCookieValueOptions,
): string {
  return cookieSigner(
    options.secret,
    [],
    cookieSignerSalt(name, options.salt ?? ''),
    options.clock,
  ).sign(value);
}

/**
 * Builds the `Set-Cookie` header value of a signed cookie, as Django's `set_signed_cookie`: the value
 * is signed as {@link signCookieValue} does, then serialized with {@link serializeCookie}.
 *
 * @param name - the cookie name.
 * @param value - the value to sign.
 * @param options - the signing keys and salt plus every {@link CookieOptions} attribute; `clock`
 *   serves both the signing timestamp and `Max-Age`/`expires`.
 * @returns the header value, without the `Set-Cookie:` prefix.
 * @throws ImproperlyConfigured when `secret` is empty.
 * @throws TypeError when the name or an attribute is invalid, as {@link serializeCookie}.
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpResponse.set_signed_cookie
 */
export function setSignedCookie(name: string, value: string, options: SignedCookieOptions): string {
  const { secret, fallbackSecrets: _fallbackSecrets, salt, ...cookieOptions } = options;
  const signOptions: SignCookieValueOptions = { secret };
  if (salt !== undefined) signOptions.salt = salt;
  if (options.clock !== undefined) signOptions.clock = options.clock;
  return serializeCookie(name, signCookieValue(name, value, signOptions), cookieOptions);
}

/**
 * Returns the verified value of a signed cookie, as Django 5.2.17's `get_signed_cookie` with no
 * default: it throws where Django raises.
 *
 * The cookie is checked with the v2 salt of {@link signCookieValue}, under `secret` then each of
 * `fallbackSecrets` (each prefixed with `'django.http.cookies'`, like the secret). On a
 * `BadSignature` that is not a `SignatureExpired`, and when `legacySaltFallback` is on (the
 * default), it is checked again with the legacy salt `name + salt`, and that second result or error
 * stands. An expired v2 cookie is never retried.
 *
 * @param cookies - the request's cookies, as {@link parseCookie} returns them.
 * @param name - the cookie name.
 * @param options - the keys, salt, `maxAge` in seconds, legacy fallback and clock.
 * @returns the value that was signed.
 * @throws CookieNotFound when `cookies` has no own entry `name` (Django: `KeyError`).
 * @throws SignatureExpired when the signature is valid but older than `maxAge` seconds.
 * @throws BadSignature when the value is not signed for this name, salt and these secrets.
 * @throws ImproperlyConfigured when `secret` or a fallback secret is empty.
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpRequest.get_signed_cookie
 * @see https://github.com/django/django/blob/stable/5.2.x/django/http/request.py
 */
export function getSignedCookie(
  cookies: Record<string, string>,
  name: string,
  options: GetSignedCookieOptions,
): string {
  const signed = Object.hasOwn(cookies, name) ? cookies[name] : undefined;
  if (typeof signed !== 'string') throw new CookieNotFound(name);
  const salt = options.salt ?? '';
  const fallbackSecrets = options.fallbackSecrets ?? [];
  try {
    return cookieSigner(
      options.secret,
      fallbackSecrets,
      cookieSignerSalt(name, salt),
      options.clock,
    ).unsign(signed, options.maxAge);
  } catch (error) {
    if (
      options.legacySaltFallback === false ||
      !(error instanceof BadSignature) ||
      error instanceof SignatureExpired
    ) {
      throw error;
    }
    return cookieSigner(options.secret, fallbackSecrets, name + salt, options.clock).unsign(
      signed,
      options.maxAge,
    );
  }
}

/**
 * Returns the verified value of a signed cookie, or `undefined` when it is missing, tampered with,
 * signed for another name, salt or secret, or expired: the non-throwing {@link getSignedCookie} for
 * request handling, like Django's `get_signed_cookie(name, default=None)`.
 *
 * Untrusted input never throws here; only a configuration error does.
 *
 * @param cookies - the request's cookies, as {@link parseCookie} returns them.
 * @param name - the cookie name.
 * @param options - as {@link getSignedCookie}.
 * @returns the value that was signed, or `undefined`.
 * @throws ImproperlyConfigured when `secret` or a fallback secret is empty.
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpRequest.get_signed_cookie
 */
export function readSignedCookie(
  cookies: Record<string, string>,
  name: string,
  options: GetSignedCookieOptions,
): string | undefined {
  try {
    return getSignedCookie(cookies, name, options);
  } catch (error) {
    if (error instanceof CookieNotFound || error instanceof BadSignature) return undefined;
    throw error;
  }
}

/** Django 5.2.15+'s `_cookie_signer_salt`: the salt's length keeps `(a, bc)` and `(ab, c)` apart. */
function cookieSignerSalt(name: string, salt: string): string {
  return `django.http.cookies.v2:${codePointLength(salt)}:${salt}${name}`;
}

/** Python's `len(str)`: a surrogate pair counts once, where `String.length` counts it twice. */
function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

function cookieSigner(
  secret: string | Buffer,
  fallbackSecrets: readonly (string | Buffer)[],
  salt: string,
  clock: Clock | undefined,
): TimestampSigner {
  return new TimestampSigner({
    secret: cookieSignerKey(secret, 'secret'),
    fallbackSecrets: fallbackSecrets.map((fallback, index) =>
      cookieSignerKey(fallback, `fallbackSecrets[${index}]`),
    ),
    salt,
    ...(clock !== undefined && { clock }),
  });
}

/** Django's `_cookie_signer_key`: `b'django.http.cookies' + key`. */
function cookieSignerKey(key: string | Buffer, option: string): string | Buffer {
  // The prefix would make an empty secret look non-empty to the signer's own check, and then every
  // cookie would be signed with a public key.
  if (!(typeof key === 'string' || Buffer.isBuffer(key)) || key.length === 0) {
    throw new ImproperlyConfigured(
      `Option ${option} must be a non-empty string or Buffer: set it to a long random secret`,
    );
  }
  return typeof key === 'string'
    ? KEY_PREFIX + key
    : Buffer.concat([Buffer.from(KEY_PREFIX, 'utf8'), key]);
}
