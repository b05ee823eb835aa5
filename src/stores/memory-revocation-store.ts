import type { RevocationStore } from './revocation-store.js';

/**
 * Keeps each user's revocation generation in this process's memory: for tests, development and
 * single-process sites.
 *
 * It forgets every revocation when the process restarts, so cookies revoked before come back
 * (until they expire); and it holds one entry per user ever revoked, never evicted, because
 * evicting one would do the same. Use {@link RedisRevocationStore} when that matters.
 *
 * @example
 * const revocations = new MemoryRevocationStore();
 * const store = new EncryptedCookieStore({ revocation: { store: revocations } });
 * await store.revokeUser('42'); // every cookie of user 42 is refused from now on
 * @see RevocationStore
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #generations = new Map<string, number>();

  /** The user's current generation, 0 when never revoked. */
  async generation(userId: string): Promise<number> {
    return this.#generations.get(userId) ?? 0;
  }

  /** Bumps the user's generation and returns the new one. */
  async revoke(userId: string): Promise<number> {
    const next = (this.#generations.get(userId) ?? 0) + 1;
    this.#generations.set(userId, next);
    return next;
  }
}
