import { ImproperlyConfigured } from '../improperly-configured.js';
import { type Clock, systemClock } from '../signing/clock.js';
import type { SessionCodec } from './session-codec.js';
import type { StoreContext } from './session-store.js';

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

  /** The codec with Django's session salt. @throws ImproperlyConfigured when not attached */
  get codec(): SessionCodec {
    return this.context.codec;
  }

  /** The manager's clock, or the system clock before a manager attached the store. */
  get clock(): Clock {
    return this.#context?.clock ?? systemClock;
  }
}
