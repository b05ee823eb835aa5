import { ImproperlyConfigured } from '../improperly-configured.js';
import type { Clock } from '../signing/clock.js';
import { systemClock } from '../signing/clock.js';
import type { Serializer } from '../signing/json-serializer.js';
import type { SecurityLogger } from './security-logger.js';
import { consoleSecurityLogger } from './security-logger.js';
import type { SessionStore } from './session-store.js';

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
  /** Older secrets still accepted when verifying (`SECRET_KEY_FALLBACKS`); signing uses `secret`. */
  readonly fallbackSecrets?: readonly (string | Buffer)[];
  /**
   * Accepts a `secret` shorter than 32 characters. Only for sharing sessions with an existing
   * Django deployment whose `SECRET_KEY` is that short; rotate to a longer one when you can (put
   * the old one in `fallbackSecrets`).
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
}

const MIN_SECRET_LENGTH = 32;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Fills in Django's defaults and checks every option.
 *
 * @throws ImproperlyConfigured naming the option and the fix, for a missing or short secret, a
 *   missing store, a cookie name that is not an RFC 6265 token, a non-positive cookie age, an
 *   unknown SameSite value, or a `__Host-`/`__Secure-` name without the attributes browsers
 *   require of it.
 */
export function resolveSessionOptions(options: SessionOptions): ResolvedSessionOptions {
  const o = options as Partial<SessionOptions>;
  if (o.store === undefined || typeof o.store.load !== 'function') {
    fail('store', 'is required: pass a store such as new MemoryStore()');
  }
  checkSecret(o.secret, o.allowShortSecret === true);
  const resolved: ResolvedSessionOptions = {
    store: o.store,
    secret: o.secret,
    fallbackSecrets: o.fallbackSecrets ?? [],
    cookieName: o.cookieName ?? 'sessionid',
    cookieAge: o.cookieAge ?? 1_209_600,
    cookieDomain: o.cookieDomain,
    cookiePath: o.cookiePath ?? '/',
    cookieSecure: o.cookieSecure ?? false,
    cookieHttpOnly: o.cookieHttpOnly ?? true,
    cookieSameSite: o.cookieSameSite ?? 'Lax',
    expireAtBrowserClose: o.expireAtBrowserClose ?? false,
    saveEveryRequest: o.saveEveryRequest ?? false,
    serializer: o.serializer,
    clock: o.clock ?? systemClock,
    logger: o.logger ?? consoleSecurityLogger,
  };
  for (const [index, secret] of resolved.fallbackSecrets.entries()) {
    if (secret.length === 0) fail(`fallbackSecrets[${index}]`, 'is empty: remove it');
  }
  if (!TOKEN.test(resolved.cookieName)) {
    fail(
      'cookieName',
      `${JSON.stringify(resolved.cookieName)} is not a valid cookie name (RFC 6265 token)`,
    );
  }
  if (!Number.isFinite(resolved.cookieAge) || resolved.cookieAge <= 0) {
    fail('cookieAge', `must be a positive number of seconds, got ${String(resolved.cookieAge)}`);
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
  const prefixed =
    resolved.cookieName.startsWith('__Host-') || resolved.cookieName.startsWith('__Secure-');
  if (prefixed && !resolved.cookieSecure) {
    fail(
      'cookieSecure',
      `must be true for a cookie named ${resolved.cookieName} (browsers drop it otherwise)`,
    );
  }
  if (
    resolved.cookieName.startsWith('__Host-') &&
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
