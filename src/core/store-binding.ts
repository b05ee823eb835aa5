import { ImproperlyConfigured } from '../improperly-configured.js';
import { type Clock, systemClock } from '../signing/clock.js';
import { EXPIRY_KEY, expiryDate } from './expiry.js';
import type { SessionCodec } from './session-codec.js';
import type { SessionRecord, StoreContext } from './session-store.js';

/**
 * Holds what a {@link SessionManager} tells a store through `attach`, for stores that encode data
 * the Django way. A store used on its own (the `clearsessions` command, say) still has a clock;
 * asking it for the codec then fails with a message that says what to do.
 */
export class StoreBinding {
  readonly #storeName: string;
  #context: StoreContext | null = null;

  /** @param storeName - named in the error when the store is used before being attached */
  constructor(storeName: string) {
    this.#storeName = storeName;
  }

  /** Keeps the manager's context; call it from the store's own `attach`. */
  attach(context: StoreContext): void {
    this.#context = context;
  }

  /** The manager's context. @throws ImproperlyConfigured when no manager attached the store */
  get context(): StoreContext {
    if (this.#context === null) {
      throw new ImproperlyConfigured(
        `keepstate: ${this.#storeName} has no secret to encode sessions with: pass it as the \`store\` option of a SessionManager.`,
      );
    }
    return this.#context;
  }

  /** @throws ImproperlyConfigured when no manager attached the store (before any backend call) */
  ensureAttached(): void {
    void this.context;
  }

  /** The codec with Django's session salt. @throws ImproperlyConfigured when not attached */
  get codec(): SessionCodec {
    return this.context.codec;
  }

  /**
   * The record a stored, Django-encoded value holds, for stores whose backend keeps no expiry of
   * its own to read back: its `expiresAt` is the data's `_session_expiry`, or now plus the cookie
   * age. Data that does not verify loads as `{}` under the same key, as in Django.
   *
   * @returns `null` when the data's own expiry has passed
   * @throws ImproperlyConfigured when not attached
   */
  recordOf(sessionKey: string, encoded: string): SessionRecord | null {
    const { codec, clock, cookieAge } = this.context;
    const data = codec.decode(encoded) ?? {};
    const now = clock();
    const expiresAt = expiryDate(data[EXPIRY_KEY], now, cookieAge);
    return expiresAt.getTime() > now.getTime()
      ? { sessionKey, data, expiresAt, version: encoded }
      : null;
  }

  /** The manager's clock, or the system clock before a manager attached the store. */
  get clock(): Clock {
    return this.#context?.clock ?? systemClock;
  }
}
