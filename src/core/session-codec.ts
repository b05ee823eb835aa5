import { b62Decode } from '../signing/base62.js';
import { type Clock, nowMs, systemClock } from '../signing/clock.js';
import { BadSignature, SignatureExpired } from '../signing/errors.js';
import { JsonSerializer, type Serializer } from '../signing/json-serializer.js';
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

/** Session data decoded from a signed token, with the instant the token was signed. */
export interface SignedSessionData {
  readonly data: SessionData;
  /**
   * When the token was signed, to the whole second (Django's timestamps drop the fraction). Taken
   * from the verified token, so it is as trustworthy as the data.
   */
  readonly signedAt: Date;
}

// How much the memo of verified tokens may hold, in bytes of tokens and payloads together, and
// the largest single entry it takes: a few thousand typical sessions, a bounded cost per process.
const MEMO_BUDGET = 8 * 1024 * 1024;
const MEMO_ENTRY_LIMIT = 64 * 1024;

interface Verified {
  /** The payload's bytes, after inflating: what the serializer reads. */
  readonly bytes: Buffer;
  /** Seconds since the epoch, as signed. */
  readonly signedAt: number;
  readonly size: number;
}

/**
 * Encodes session data the way Django's `SessionBase.encode` does (`signing.dumps` with the
 * session salt, compressed when that is shorter) and decodes it back, so a Django app and
 * keepstate can read each other's stored sessions.
 *
 * The codec remembers the tokens it verified or signed (up to 8 MiB of them, oldest dropped
 * first): the same token on a later request skips the HMAC, the base64 and the inflating, and
 * only its payload is parsed again (so every caller still gets its own objects). A token is
 * remembered only once its signature verified, or once this codec signed it, under its own
 * secret and salt, so the memo can never accept what verifying would refuse; `maxAge` is
 * checked on every decode.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/base.py
 */
export class SessionCodec {
  readonly #signer: TimestampSigner;
  readonly #serializer: Serializer;
  readonly #logger: SecurityLogger;
  readonly #clock: Clock;
  readonly #verified = new Map<string, Verified>();
  #memoSize = 0;
  // The payload bytes that the last sign or verify serialized or parsed: signing is synchronous,
  // so the one capturing serializer below is never shared by two calls at once.
  #bytes: Buffer | undefined;
  readonly #signOptions: { readonly compress: true; readonly serializer: Serializer };
  readonly #unsignOptions: { readonly serializer: Serializer };

  constructor(options: SessionCodecOptions) {
    this.#signer = new TimestampSigner({
      secret: options.secret,
      salt: options.salt ?? SESSION_STORE_SALT,
      ...(options.fallbackSecrets && { fallbackSecrets: options.fallbackSecrets }),
      ...(options.clock && { clock: options.clock }),
    });
    this.#serializer = options.serializer ?? JsonSerializer;
    this.#logger = options.logger ?? consoleSecurityLogger;
    this.#clock = options.clock ?? systemClock;
    const serializer = this.#serializer;
    const capturing: Serializer = {
      dumps: (data) => {
        const bytes = serializer.dumps(data);
        this.#bytes = bytes;
        return bytes;
      },
      loads: (bytes) => {
        this.#bytes = bytes;
        return serializer.loads(bytes);
      },
    };
    this.#signOptions = { compress: true, serializer: capturing };
    this.#unsignOptions = { serializer: capturing };
  }

  /**
   * Signs and serializes `data`; the result is what Django stores in `session_data`. The token
   * is remembered as verified (it was signed just now, with this codec's secret and salt), so
   * reading it back on the next request skips the HMAC.
   */
  encode(data: SessionData): string {
    this.#bytes = undefined;
    const token = this.#signer.signObject(data, this.#signOptions);
    const bytes = this.#bytes as Buffer | undefined;
    if (bytes !== undefined) this.#remember(token, ownCopy(bytes), this.#signedAt(token));
    return token;
  }

  /**
   * Decodes what {@link encode} (or Django) produced. Never throws, and gives `null` (Django
   * gives `{}`) for each of: a bad signature, with Django's "Session data corrupted" warning; a
   * validly signed payload that does not decode to an object (a JSON list, string or number,
   * broken JSON or zlib, a payload past the inflation cap), with one warning too, where Django
   * is silent; an expired signature (with `maxAge`, in seconds), silently, since expiring is
   * not an attack.
   */
  decode(token: string, maxAge?: number): SessionData | null {
    return this.#open(token, maxAge)?.data ?? null;
  }

  /**
   * Decodes like {@link decode} and also returns when the token was signed, for stores that
   * count an expiry from the signing time (the signed-cookie store). Never throws; `null` in
   * every case where {@link decode} gives `null`.
   *
   * @param maxAge - seconds, as for {@link decode}
   */
  decodeWithTimestamp(token: string, maxAge?: number): SignedSessionData | null {
    const opened = this.#open(token, maxAge);
    return opened && { data: opened.data, signedAt: new Date(opened.signedAt * 1000) };
  }

  #open(token: string, maxAge: number | undefined): { data: SessionData; signedAt: number } | null {
    const known = this.#verified.get(token);
    if (known !== undefined) {
      // The same comparison as TimestampSigner.unsign: expired only when strictly older.
      if (maxAge !== undefined && (nowMs(this.#clock) - known.signedAt * 1000) / 1000 > maxAge) {
        return null;
      }
      return { data: this.#serializer.loads(known.bytes) as SessionData, signedAt: known.signedAt };
    }
    this.#bytes = undefined;
    let value: unknown;
    try {
      value = this.#signer.unsignObject(
        token,
        maxAge === undefined ? this.#unsignOptions : { ...this.#unsignOptions, maxAge },
      );
    } catch (error) {
      if (error instanceof SignatureExpired) return null;
      this.#logger.warn(
        error instanceof BadSignature
          ? 'Session data corrupted'
          : 'Session data corrupted: signed, but not decodable',
      );
      this.#logger.event?.({
        type: 'rejected',
        reason: error instanceof BadSignature ? 'bad signature' : 'undecodable data',
      });
      return null;
    }
    if (!isPlainObject(value)) {
      this.#logger.warn('Session data corrupted: signed, but not an object');
      this.#logger.event?.({ type: 'rejected', reason: 'not an object' });
      return null;
    }
    const signedAt = this.#signedAt(token);
    const bytes = this.#bytes as Buffer | undefined;
    if (bytes !== undefined) this.#remember(token, ownCopy(bytes), signedAt);
    return { data: value, signedAt };
  }

  // The signature covers `payload:timestamp`, and the token was just signed or verified, so the
  // field before the last separator is a well-formed timestamp.
  #signedAt(token: string): number {
    const sep = this.#signer.sep;
    const signed = token.slice(0, token.lastIndexOf(sep));
    return b62Decode(signed.slice(signed.lastIndexOf(sep) + sep.length));
  }

  #remember(token: string, bytes: Buffer, signedAt: number): void {
    const size = token.length + bytes.length;
    if (size > MEMO_ENTRY_LIMIT) return;
    for (const [oldest, entry] of this.#verified) {
      if (this.#memoSize + size <= MEMO_BUDGET) break;
      this.#verified.delete(oldest);
      this.#memoSize -= entry.size;
    }
    this.#verified.set(token, { bytes, signedAt, size });
    this.#memoSize += size;
  }
}

// A copy of its own: the bytes may be a view into a larger buffer (the inflated or base64-decoded
// token) or one a serializer reuses. `Buffer.from` copies a small payload into node's pool, with
// no backing store of its own to allocate and free.
function ownCopy(bytes: Buffer): Buffer {
  return Buffer.from(bytes);
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
