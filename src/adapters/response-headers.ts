import {
  cacheControlWithPrivate,
  type SessionHeaders,
  varyWithCookie,
} from './session-exchange.js';

/**
 * Adds the session's `Set-Cookie`, `Vary` and `Cache-Control: private` to a Web `Response`: in
 * place when its headers can
 * change, on a copy when they are immutable (`Response.redirect()`, a `fetch()` response).
 * Shared by `keepstate/web` and `keepstate/hono`.
 *
 * @returns `response` itself, or the copy
 * @example
 * return withSessionHeaders(await handler(request), await commit(response.status));
 */
export function withSessionHeaders(response: Response, headers: SessionHeaders): Response {
  if (headers.setCookie.length === 0 && !headers.vary && !headers.cacheControlPrivate) {
    return response;
  }
  try {
    addTo(response.headers, headers);
    return response;
  } catch (error) {
    // Immutable headers throw on the first change, so nothing was added before the copy.
    if (!(error instanceof TypeError)) throw error;
    // A fresh init: passing `response` itself would hand its immutable headers to some
    // Response implementations (@hono/node-server's).
    const copy = new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: new Headers(response.headers),
    });
    addTo(copy.headers, headers);
    return copy;
  }
}

/**
 * Whether `value` is a Web `Response`, also when it comes from another realm or the global
 * `Response` was replaced (as @hono/node-server does), where `instanceof` says no.
 */
export function isResponse(value: unknown): value is Response {
  return value instanceof Response || Object.prototype.toString.call(value) === '[object Response]';
}

function addTo(target: Headers, { setCookie, vary, cacheControlPrivate }: SessionHeaders): void {
  for (const value of setCookie) target.append('set-cookie', value);
  const varied = vary ? varyWithCookie(target.get('vary')) : null;
  if (varied !== null) target.set('vary', varied);
  if (cacheControlPrivate) {
    target.set('cache-control', cacheControlWithPrivate(target.get('cache-control')));
  }
}
