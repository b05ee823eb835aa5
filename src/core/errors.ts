/**
 * Thrown by {@link SessionStore.create} when a record with the key already exists.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/base.py
 */
export class CreateError extends Error {
  override readonly name = 'CreateError';
}

/**
 * Thrown by {@link SessionStore.save} when no record with the key exists any more.
 *
 * @see https://github.com/django/django/blob/main/django/contrib/sessions/backends/base.py
 */
export class UpdateError extends Error {
  override readonly name = 'UpdateError';
}

/**
 * The session was deleted by a concurrent request (a logout, say) while this request ran, so its
 * changes cannot be saved. Adapters answer it with 400 and no `Set-Cookie`.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/exceptions/#sessioninterrupted
 */
export class SessionInterrupted extends Error {
  override readonly name = 'SessionInterrupted';
  /** The HTTP status to answer with. */
  readonly status = 400;
  constructor(
    message = "The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example.",
  ) {
    super(message);
  }
}

/** A store's backend failed (down, timed out, refused); `cause` holds the driver's error. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}
