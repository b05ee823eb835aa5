import { type SameSite, serializeCookie } from './serialize-cookie.js';

/**
 * The attributes that must match the cookie being deleted, as Django's `delete_cookie` takes them.
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpResponse.delete_cookie
 */
export interface DeleteCookieOptions {
  /** The cookie's `Path`; `'/'` by default, `null` omits it. */
  path?: string | null;
  /** The cookie's `Domain`; omitted by default. */
  domain?: string;
  /** The cookie's `SameSite`; `None` (in any case) also adds `Secure`. */
  sameSite?: SameSite | false;
  /** Adds `Partitioned`, which a browser needs to delete a partitioned (CHIPS) cookie; not in Django. */
  partitioned?: boolean;
}

/** Django's fixed `expires` for deleted cookies: the Unix epoch. */
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';

/**
 * Builds the `Set-Cookie` header value that makes a browser delete a cookie, as Django's
 * `HttpResponse.delete_cookie` does.
 *
 * The header carries the empty value `""`, `expires=Thu, 01 Jan 1970 00:00:00 GMT`, `Max-Age=0`,
 * and the given path, domain and SameSite (they must match the cookie's for the browser to replace
 * it). `Secure` is added for `__Secure-` and `__Host-` names (in any letter case) and for
 * `SameSite=None`, because browsers ignore such a header without it. It does not depend on the
 * clock.
 *
 * @param name - the cookie name, under the same rules as {@link serializeCookie}.
 * @param options - the cookie's path, domain and SameSite.
 * @returns the header value, without the `Set-Cookie:` prefix.
 * @throws TypeError when the name or an option is invalid, as {@link serializeCookie}, including a
 *   `domain`, or a `path` other than `/`, for a `__Host-` name (no browser ever stored such a
 *   cookie, and the header would not delete the one it has).
 * @see https://docs.djangoproject.com/en/5.2/ref/request-response/#django.http.HttpResponse.delete_cookie
 * @see https://github.com/django/django/blob/stable/5.2.x/django/http/response.py
 */
export function deleteCookie(name: string, options: DeleteCookieOptions = {}): string {
  const { sameSite } = options;
  const lower = typeof name === 'string' ? name.toLowerCase() : '';
  const secure =
    lower.startsWith('__secure-') ||
    lower.startsWith('__host-') ||
    (typeof sameSite === 'string' && sameSite.toLowerCase() === 'none');
  return serializeCookie(name, '', {
    maxAge: 0,
    expires: EPOCH,
    path: options.path === undefined ? '/' : options.path,
    ...(options.domain !== undefined && { domain: options.domain }),
    ...(sameSite !== undefined && { sameSite }),
    ...(options.partitioned !== undefined && { partitioned: options.partitioned }),
    secure,
  });
}
