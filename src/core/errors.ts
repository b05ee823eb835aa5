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

/**
 * A store's backend failed: down, refused, or slower than the manager's `storeTimeout`; `cause`
 * holds the driver's error. Adapters answer it with 503 (fail closed), unless the manager is
 * configured with `failOpen`, which serves the request an anonymous session instead. Its message
 * never holds a session key or a cookie value.
 *
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  /** The HTTP status to answer with: 503 Service Unavailable. */
  readonly status = 503;
}

/**
 * A cookie would be larger than browsers keep, so it was refused before any `Set-Cookie` was
 * sent: a browser drops such a cookie silently, and the visitor would lose the session with no
 * error anywhere. Browsers keep at least 4,096 bytes of name, value and attributes per cookie
 * (RFC 6265, section 6.1) and no more in practice.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-6.1
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cookie-based-sessions
 */
export class CookieTooLarge extends Error {
  override readonly name = 'CookieTooLarge';
  /** The size the cookie would have had, in bytes (name, value and attributes). */
  readonly bytes: number;
  /** The most bytes allowed. */
  readonly limit: number;

  /** @param message - names the size, the limit and what to do instead */
  constructor(message: string, size: { readonly bytes: number; readonly limit: number }) {
    super(message);
    this.bytes = size.bytes;
    this.limit = size.limit;
  }
}
