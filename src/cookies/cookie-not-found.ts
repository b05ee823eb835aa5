/**
 * Thrown by {@link getSignedCookie} when the request has no cookie of the asked name (Django raises
 * `KeyError` there).
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpRequest.get_signed_cookie
 */
export class CookieNotFound extends Error {
  override readonly name = 'CookieNotFound';

  /** The name of the cookie that was asked for. */
  readonly cookieName: string;

  constructor(cookieName: string) {
    super(`The request has no cookie named ${JSON.stringify(cookieName)}`);
    this.cookieName = cookieName;
  }
}
