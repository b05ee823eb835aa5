/**
 * Keeps one generation counter per user, so sessions that live only in a cookie can still be
 * ended everywhere: a cookie carries the generation of its user when it was sealed, and a cookie
 * whose generation is below the current one is refused. {@link revoke} bumps the counter, which
 * logs that user out of every browser at once.
 *
 * The counter must only grow and must survive as long as the cookies it guards: a store that
 * forgets a user's counter (a restart of {@link MemoryRevocationStore}, an evicted key) lets
 * cookies revoked before come back. Implementations are small: {@link MemoryRevocationStore} for
 * tests and one process, {@link RedisRevocationStore} for several.
 *
 * @see EncryptedCookieStore
 * @see https://docs.djangoproject.com/en/5.2/topics/auth/default/#session-invalidation-on-password-change
 */
export interface RevocationStore {
  /**
   * The user's current generation: 0 for a user never revoked.
   * @throws StoreError when the backend fails (the request then fails rather than let a revoked
   *   cookie through)
   */
  generation(userId: string): Promise<number>;
  /**
   * Bumps the user's generation, atomically, and returns the new one: every cookie sealed for
   * this user before is refused from now on.
   * @throws StoreError when the backend fails
   */
  revoke(userId: string): Promise<number>;
}
