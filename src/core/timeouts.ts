/**
 * Where the session's data keeps what the timeouts beyond Django need, as whole seconds since
 * the Unix epoch: when the session was created (for `absoluteTimeout`) and when it was last saved
 * (for `touchAfter`). Each is written only while its option is on. Django carries them along
 * untouched.
 */
export const TIMEOUT_KEYS = {
  createdAt: '_keepstate_created',
  savedAt: '_keepstate_saved',
} as const;
