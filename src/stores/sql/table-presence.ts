import { performance } from 'node:perf_hooks';

/** How long a table found missing is taken to stay missing before it is looked for again, in ms. */
const RECHECK_MS = 60_000;

/**
 * Remembers whether a table exists, so a store looks it up in the catalog once, not on every
 * statement: for good once found, and again a minute after it was found missing (someone may
 * run `keepstate migrate` meanwhile). Real time, not the store's clock, which tests stop.
 */
export class TablePresence {
  #present = false;
  #recheckAt = 0;
  #warned = false;

  /** Whether the table was last seen to exist. */
  get present(): boolean {
    return this.#present;
  }

  /** Whether the catalog should be asked now: never once the table was found. */
  get stale(): boolean {
    return !this.#present && performance.now() >= this.#recheckAt;
  }

  /** Records what the catalog said. */
  record(present: boolean): void {
    this.#present = present;
    if (!present) this.#recheckAt = performance.now() + RECHECK_MS;
  }

  /** `true` the first time it is called while the table is missing, then `false`: warn once. */
  firstMiss(): boolean {
    if (this.#present || this.#warned) return false;
    this.#warned = true;
    return true;
  }
}
