import { ImproperlyConfigured } from '../improperly-configured.js';
import type { Clock } from '../signing/clock.js';
import { systemClock } from '../signing/clock.js';
import type { Serializer } from '../signing/json-serializer.js';
import type { SecurityLogger } from './security-logger.js';
import { consoleSecurityLogger } from './security-logger.js';
import type { SessionStore } from './session-store.js';
import type { Tracer } from './tracer.js';

/** The `SameSite` attribute of the session cookie; `false` omits it (Django's `None` setting). */
export type CookieSameSite = 'Lax' | 'Strict' | 'None' | false;

/**
 * Options of a {@link SessionManager}. Each has Django's default and Django's meaning; the
 * Django setting is named in each comment.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/settings/#sessions
 */
export interface SessionOptions {
  /** Where sessions live (`SESSION_ENGINE`). */
  readonly store: SessionStore;
  /** Signs session data and cookies (`SECRET_KEY`); at least 32 characters. */
  readonly secret: string | Buffer;
  /**
   * Older secrets still accepted when verifying (`SECRET_KEY_FALLBACKS`); signing uses `secret`.
   * Each must be 32 characters or more too.
   */
  readonly fallbackSecrets?: readonly (string | Buffer)[];
  /**
   * Accepts a `secret` and `fallbackSecrets` shorter than 32 characters: the escape hatch for
   * sharing sessions with an existing Django deployment whose `SECRET_KEY` (or a
   * `SECRET_KEY_FALLBACKS` entry) is that short, which keepstate must verify and sign with for
   * both sides to read each other's sessions. Rotate to a longer secret when you can: make it
   * `secret`, keep the short one in `fallbackSecrets` until its sessions have expired, then drop
   * both the short one and this option.
   */
  readonly allowShortSecret?: boolean;
  /** `SESSION_COOKIE_NAME`, default `'sessionid'`. */
  readonly cookieName?: string;
  /** Seconds (`SESSION_COOKIE_AGE`), default 1209600 (two weeks). */
  readonly cookieAge?: number;
  /** `SESSION_COOKIE_DOMAIN`, default none (a host-only cookie). */
  readonly cookieDomain?: string;
  /** `SESSION_COOKIE_PATH`, default `'/'`. */
  readonly cookiePath?: string;
  /** `SESSION_COOKIE_SECURE`, default `false`. */
  readonly cookieSecure?: boolean;
  /** `SESSION_COOKIE_HTTPONLY`, default `true`. */
  readonly cookieHttpOnly?: boolean;
  /** `SESSION_COOKIE_SAMESITE`, default `'Lax'`. */
  readonly cookieSameSite?: CookieSameSite;
  /** `SESSION_EXPIRE_AT_BROWSER_CLOSE`, default `false`. */
  readonly expireAtBrowserClose?: boolean;
  /** `SESSION_SAVE_EVERY_REQUEST`, default `false`. */
  readonly saveEveryRequest?: boolean;
  /** `SESSION_SERIALIZER`, default JSON as Python writes it. */
  readonly serializer?: Serializer;
  /** The source of the current time; tests pass a fixed one. */
  readonly clock?: Clock;
  /** Where refused input is reported (`django.security.SuspiciousSession`). */
  readonly logger?: SecurityLogger;
  /**
   * Seconds any one store call may take, default 5 (not in Django). A call still pending then
   * fails with {@link StoreError}, so a hung or unreachable backend costs a request at most this
   * long instead of holding it (and its socket and memory) until the client gives up.
   */
  readonly storeTimeout?: number;
  /**
   * What a request gets when the store fails or times out (not in Django, whose views see the
   * backend's exception): `false`, the default, fails closed (adapters answer 503); `true` fails
   * open: loading gives the request an anonymous session, and the end-of-request save is
   * skipped, so the site keeps serving visitors as logged out while the store is down. Under
   * `failOpen` such a session is never saved and its cookie is left alone, so the visitor's real
   * session is there again once the store is back. A handler's own `save`, `cycleKey`, `flush`
   * or `deleteRecord` still throws `StoreError`: a login or logout must never look done when it
   * was not.
   */
  readonly failOpen?: boolean;
  /**
   * Adds `private` to `Cache-Control` (merged with the response's own, as Django's
   * `patch_cache_control(response, private=True)` merges it) on every response that sets or
   * deletes the session cookie, so no shared cache stores one visitor's cookie and serves it to
   * another. Default `false`, as in Django, whose middleware sends only `Vary: Cookie`.
   *
   * @see https://docs.djangoproject.com/en/5.2/ref/utils/#django.utils.cache.patch_cache_control
   */
  readonly cacheControlPrivate?: boolean;
  /**
   * Seconds without a request after which a session ends (not in Django, where `cookieAge` with
   * `saveEveryRequest` does the same): the default expiry age, pushed out again by every request
   * that brings the session's cookie. It stands in for `cookieAge` (set one of the two) and turns
   * `saveEveryRequest` on; pair it with `touchAfter` so that rolling does not cost a write per
   * request, and with `absoluteTimeout` to end even an active session in the end.
   */
  readonly idleTimeout?: number;
  /**
   * Seconds from a session's creation (or its last key rotation, as at login) after which it is
   * over, however active (not in Django). The creation time is kept in the data as
   * `_keepstate_created`; the record's expiry and the cookie's `Max-Age` never reach past it.
   * Sessions stored before the option was set count from their next save.
   */
  readonly absoluteTimeout?: number;
  /**
   * Seconds (not in Django): under `saveEveryRequest` or `idleTimeout`, a session no request
   * changed is saved, and its cookie sent again, only once this long has passed since its last
   * save (kept in the data as `_keepstate_saved`), so rolling sessions cost a write every
   * `touchAfter` seconds instead of one per request. The expiry then lags by at most this much;
   * it must be shorter than the expiry age (`cookieAge` or `idleTimeout`).
   */
  readonly touchAfter?: number;
  /**
   * The OpenTelemetry tracer that gets a span per store call (`keepstate.load`,
   * `keepstate.save`, ...). By default the global tracer of `@opentelemetry/api` when that
   * package is installed (its spans go nowhere until an SDK is registered); `false` turns
   * tracing off.
   */
  readonly tracer?: Tracer | false;
}

/** {@link SessionOptions} with every default filled in and every value checked. */
export interface ResolvedSessionOptions {
  readonly store: SessionStore;
  readonly secret: string | Buffer;
  readonly fallbackSecrets: readonly (string | Buffer)[];
  readonly cookieName: string;
  readonly cookieAge: number;
  readonly cookieDomain: string | undefined;
  readonly cookiePath: string;
  readonly cookieSecure: boolean;
  readonly cookieHttpOnly: boolean;
  readonly cookieSameSite: CookieSameSite;
  readonly expireAtBrowserClose: boolean;
  readonly saveEveryRequest: boolean;
  readonly serializer: Serializer | undefined;
  readonly clock: Clock;
  readonly logger: SecurityLogger;
  /** Seconds. */
  readonly storeTimeout: number;
  readonly failOpen: boolean;
  readonly cacheControlPrivate: boolean;
  /** Seconds; when set, also `cookieAge`, with `saveEveryRequest` on. */
  readonly idleTimeout: number | undefined;
  /** Seconds. */
  readonly absoluteTimeout: number | undefined;
  /** Seconds. */
  readonly touchAfter: number | undefined;
  /** `undefined`: find `@opentelemetry/api`'s tracer. */
  readonly tracer: Tracer | false | undefined;
}

const MIN_SECRET_LENGTH = 32;
// setTimeout takes at most 2^31 - 1 milliseconds; a longer delay fires at once.
const MAX_STORE_TIMEOUT = 2_147_483;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Fills in Django's defaults and checks every option.
 *
 * @throws ImproperlyConfigured naming the option and the fix, for a missing or short secret or
 *   fallback secret (both may be short with `allowShortSecret`), a missing store, a
 *   `storeTimeout` that is not a positive number of seconds, a cookie name that is not an RFC
 *   6265 token, a non-positive cookie age, an unknown SameSite value, or a `__Host-`/`__Secure-`
 *   name (in any letter case) without the attributes browsers require of it.
 */
export function resolveSessionOptions(options: SessionOptions): ResolvedSessionOptions {
  const o = options as Partial<SessionOptions>;
  if (o.store === undefined || typeof o.store.load !== 'function') {
    fail('store', 'is required: pass a store such as new MemoryStore()');
  }
  const allowShort = o.allowShortSecret === true;
  checkSecret(o.secret, allowShort);
  for (const option of ['cookieAge', 'idleTimeout', 'absoluteTimeout', 'touchAfter'] as const) {
    const value = o[option];
    if (
      value !== undefined &&
      !(typeof value === 'number' && Number.isFinite(value) && value > 0)
    ) {
      fail(option, `must be a positive number of seconds, got ${String(value)}`);
    }
  }
  if (o.idleTimeout !== undefined && o.cookieAge !== undefined) {
    fail(
      'idleTimeout',
      'stands in for cookieAge (it is the expiry age, rolled on every request): set one of the two',
    );
  }
  const rolling = o.saveEveryRequest === true || o.idleTimeout !== undefined;
  if (o.touchAfter !== undefined && !rolling) {
    fail(
      'touchAfter',
      'only spaces out the saves of rolling sessions: also set saveEveryRequest: true or idleTimeout',
    );
  }
  const expiryAge = o.idleTimeout ?? o.cookieAge ?? 1_209_600;
  if (o.touchAfter !== undefined && o.touchAfter >= expiryAge) {
    fail(
      'touchAfter',
      `must be shorter than the expiry age (${expiryAge} seconds of ${o.idleTimeout === undefined ? 'cookieAge' : 'idleTimeout'}), or sessions expire before they are saved again`,
    );
  }
  const resolved: ResolvedSessionOptions = {
    store: o.store,
    secret: o.secret,
    fallbackSecrets: o.fallbackSecrets ?? [],
    cookieName: o.cookieName ?? 'sessionid',
    cookieAge: expiryAge,
    cookieDomain: o.cookieDomain,
    cookiePath: o.cookiePath ?? '/',
    cookieSecure: o.cookieSecure ?? false,
    cookieHttpOnly: o.cookieHttpOnly ?? true,
    cookieSameSite: o.cookieSameSite ?? 'Lax',
    expireAtBrowserClose: o.expireAtBrowserClose ?? false,
    saveEveryRequest: rolling,
    serializer: o.serializer,
    clock: o.clock ?? systemClock,
    logger: o.logger ?? consoleSecurityLogger,
    storeTimeout: o.storeTimeout ?? 5,
    failOpen: o.failOpen ?? false,
    cacheControlPrivate: o.cacheControlPrivate ?? false,
    idleTimeout: o.idleTimeout,
    absoluteTimeout: o.absoluteTimeout,
    touchAfter: o.touchAfter,
    tracer: o.tracer,
  };
  for (const [index, secret] of resolved.fallbackSecrets.entries()) {
    if (secret.length === 0) fail(`fallbackSecrets[${index}]`, 'is empty: remove it');
    // A retired secret that was short lets a guessed key verify just the same.
    if (secret.length < MIN_SECRET_LENGTH && !allowShort) {
      fail(
        `fallbackSecrets[${index}]`,
        `is ${secret.length} characters long, under the ${MIN_SECRET_LENGTH} keepstate requires: remove it (sessions signed with it then log out), or, while a Django app's SECRET_KEY_FALLBACKS still holds it, set allowShortSecret: true`,
      );
    }
  }
  const timeout = resolved.storeTimeout;
  if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= MAX_STORE_TIMEOUT)) {
    fail(
      'storeTimeout',
      `must be a number of seconds above 0 and at most ${MAX_STORE_TIMEOUT}, got ${String(timeout)}`,
    );
  }
  if (!TOKEN.test(resolved.cookieName)) {
    fail(
      'cookieName',
      `${JSON.stringify(resolved.cookieName)} is not a valid cookie name (RFC 6265 token)`,
    );
  }
  if (!resolved.cookiePath.startsWith('/')) {
    fail('cookiePath', `must start with "/", got ${JSON.stringify(resolved.cookiePath)}`);
  }
  if (![false, 'Lax', 'Strict', 'None'].includes(resolved.cookieSameSite)) {
    fail(
      'cookieSameSite',
      `must be 'Lax', 'Strict', 'None' or false, got ${String(resolved.cookieSameSite)}`,
    );
  }
  // Browsers match the prefixes in any letter case (RFC 6265bis, section 4.1.3).
  const lowerName = resolved.cookieName.toLowerCase();
  const prefixed = lowerName.startsWith('__host-') || lowerName.startsWith('__secure-');
  if (prefixed && !resolved.cookieSecure) {
    fail(
      'cookieSecure',
      `must be true for a cookie named ${resolved.cookieName} (browsers drop it otherwise)`,
    );
  }
  if (
    lowerName.startsWith('__host-') &&
    (resolved.cookieDomain !== undefined || resolved.cookiePath !== '/')
  ) {
    fail(
      'cookieDomain',
      `must be unset and cookiePath '/' for a __Host- cookie (browsers drop it otherwise)`,
    );
  }
  return resolved;
}

function checkSecret(secret: unknown, allowShort: boolean): asserts secret is string | Buffer {
  if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
    fail(
      'secret',
      'is required: pass a random string of at least 32 characters, e.g. from `openssl rand -base64 48`',
    );
  }
  if (secret.length === 0 || (secret.length < MIN_SECRET_LENGTH && !allowShort)) {
    fail(
      'secret',
      `is ${secret.length} characters long; use at least ${MIN_SECRET_LENGTH} random characters, e.g. from \`openssl rand -base64 48\` (to share sessions with a Django app whose SECRET_KEY is shorter, also set allowShortSecret: true)`,
    );
  }
}

function fail(option: string, problem: string): never {
  throw new ImproperlyConfigured(`keepstate: option \`${option}\` ${problem}.`);
}
