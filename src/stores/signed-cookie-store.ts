import { EXPIRY_KEY, expiryDate } from '../core/expiry.js';
import type { SessionCodec } from '../core/session-codec.js';
import type { SessionRecord, SessionStore, StoreContext } from '../core/session-store.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import type { Clock } from '../signing/clock.js';

/** The salt Django's `signed_cookies` engine signs the cookie with. */
export const SIGNED_COOKIE_SALT = 'django.contrib.sessions.backends.signed_cookies';

// A signed value is base64url, `.`, and `:` separators; nothing else can verify, so anything
// else is refused before any crypto runs.
const SIGNED_VALUE = /^[A-Za-z0-9_\-.:]{8,4096}$/;

interface Attached {
  readonly codec: SessionCodec;
  readonly clock: Clock;
  readonly cookieAge: number;
}

/**
 * Keeps the whole session in the cookie, signed (not encrypted: the browser can read it) with
 * Django's `signed_cookies` format, so nothing is stored on the server. The cookie is valid for
 * `cookieAge` seconds after it was last written.
 *
 * Like Django's engine it cannot end a session on the server: a copied cookie stays valid until
 * it expires, and `delete` does nothing.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cookie-based-sessions
 */
export class SignedCookieStore implements SessionStore {
  readonly selfExpiring = true;
  #attached: Attached | null = null;

  /** Takes the manager's secret (through its codec), clock and cookie age. */
  attach(context: StoreContext): void {
    this.#attached = {
      codec: context.codecFor(SIGNED_COOKIE_SALT),
      clock: context.clock,
      cookieAge: context.cookieAge,
    };
  }

  isValidKey(value: string): boolean {
    return SIGNED_VALUE.test(value);
  }

  async load(value: string): Promise<SessionRecord | null> {
    const { codec, clock, cookieAge } = this.#context();
    const data = codec.decode(value, cookieAge);
    if (data === null) return null;
    return { sessionKey: value, data, expiresAt: expiryDate(data[EXPIRY_KEY], clock(), cookieAge) };
  }

  async create(record: SessionRecord): Promise<string> {
    return this.#context().codec.encode(record.data);
  }

  async save(record: SessionRecord): Promise<string> {
    return this.#context().codec.encode(record.data);
  }

  async delete(): Promise<void> {}

  /** Always `false`: there is no server-side record, as in Django. */
  async exists(): Promise<boolean> {
    return false;
  }

  /** Does nothing: an expired cookie fails its signature age check; nothing is stored. */
  async clearExpired(): Promise<number> {
    return 0;
  }

  #context(): Attached {
    if (this.#attached === null) {
      throw new ImproperlyConfigured(
        'keepstate: SignedCookieStore has no secret: pass it as the `store` option of a SessionManager.',
      );
    }
    return this.#attached;
  }
}
