import type { Clock } from '../signing/clock.js';
import { BadSignature, SignatureExpired } from '../signing/errors.js';
import type { Serializer } from '../signing/json-serializer.js';
import { TimestampSigner } from '../signing/timestamp-signer.js';
import { consoleSecurityLogger, type SecurityLogger } from './security-logger.js';
import type { SessionData } from './session-store.js';

/** The salt Django's db, cache, cached_db and file engines sign session data with. */
export const SESSION_STORE_SALT = 'django.contrib.sessions.SessionStore';

/** Options of a {@link SessionCodec}. */
export interface SessionCodecOptions {
  readonly secret: string | Buffer;
  readonly fallbackSecrets?: readonly (string | Buffer)[];
  /** Defaults to {@link SESSION_STORE_SALT}. */
  readonly salt?: string;
  readonly serializer?: Serializer;
  readonly clock?: Clock;
  readonly logger?: SecurityLogger;
}

/**
 * Encodes session data the way Django's `SessionBase.encode` does (`signing.dumps` with the
 * session salt, compressed when that is shorter) and decodes it back, so a Django app and
 * keepstate can read each other's stored sessions.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/base.py
 */
export class SessionCodec {
  readonly #signer: TimestampSigner;
  readonly #serializer: Serializer | undefined;
  readonly #logger: SecurityLogger;

  constructor(options: SessionCodecOptions) {
    this.#signer = new TimestampSigner({
      secret: options.secret,
      salt: options.salt ?? SESSION_STORE_SALT,
      ...(options.fallbackSecrets && { fallbackSecrets: options.fallbackSecrets }),
      ...(options.clock && { clock: options.clock }),
    });
    this.#serializer = options.serializer;
    this.#logger = options.logger ?? consoleSecurityLogger;
  }

  /** Signs and serializes `data`; the result is what Django stores in `session_data`. */
  encode(data: SessionData): string {
    return this.#signer.signObject(data, {
      compress: true,
      ...(this.#serializer && { serializer: this.#serializer }),
    });
  }

  /**
   * Decodes what {@link encode} (or Django) produced. Never throws: a bad signature gives `null`
   * and a "Session data corrupted" warning; an expired one (with `maxAge`, in seconds) or a
   * validly signed payload that is not an object gives `null` silently, as Django (which
   * returns `{}` for each) does.
   */
  decode(token: string, maxAge?: number): SessionData | null {
    try {
      const value = this.#signer.unsignObject(token, {
        ...(maxAge !== undefined && { maxAge }),
        ...(this.#serializer && { serializer: this.#serializer }),
      });
      return isPlainObject(value) ? value : null;
    } catch (error) {
      if (error instanceof BadSignature && !(error instanceof SignatureExpired)) {
        this.#logger.warn('Session data corrupted');
      }
      return null;
    }
  }
}

function isPlainObject(value: unknown): value is SessionData {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Encodes `data` as Django's db/file/cache engines store it. See {@link SessionCodec.encode}. */
export function encodeSessionData(data: SessionData, options: SessionCodecOptions): string {
  return new SessionCodec(options).encode(data);
}

/** Decodes Django-encoded session data; `{}` on any bad input. See {@link SessionCodec.decode}. */
export function decodeSessionData(token: string, options: SessionCodecOptions): SessionData {
  return new SessionCodec(options).decode(token) ?? {};
}
