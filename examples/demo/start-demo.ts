import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withSession } from '../../src/adapters/node-http.js';
import type { CookieJar } from '../../src/core/cookie-jar.js';
import type { Session } from '../../src/core/session.js';
import { sessionKeyHash } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import type { Clock } from '../../src/signing/clock.js';
import { storeFromUrl } from '../../src/stores/store-from-url.js';
import {
  cookiesPage,
  devicesPage,
  EXPIRY_CHOICES,
  type ExpiryChoice,
  errorPage,
  homePage,
  loginPage,
  logoutPage,
  STYLESHEET,
  sessionsPage,
} from './views.js';

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** The TCP port; `0` lets the system pick a free one. Default 8000. */
  readonly port?: number;
  /** The address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /**
   * A store URL as `storeFromUrl` takes it (the demo then owns and closes the store), or a store
   * (the caller keeps it). Default {@link DEFAULT_STORE_URL}.
   */
  readonly store?: string | SessionStore;
  /** At least 32 characters. Default: a random one per start, so sessions die with the process. */
  readonly secret?: string;
  /**
   * Runs on a clock that `POST /__test__/advance?seconds=N` moves forward, for browser tests that
   * must not sleep. Never turn it on for a site people use.
   */
  readonly testHooks?: boolean;
}

/** A running demo. */
export interface Demo {
  /** Where it listens, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  /** Stops the server, then closes the store if the demo opened it. */
  close(): Promise<void>;
}

/** The store the demo uses when given none: a SQLite file in the working folder. */
export const DEFAULT_STORE_URL = 'sqlite:./demo-sessions.sqlite3';

/** What the demo keeps in a session. */
type DemoData = {
  name: string;
  visits: number;
  csrfToken: string;
  /** A message for the next page, shown once (Django's messages framework, in miniature). */
  notice: string;
};

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly session: Session<DemoData>;
  readonly cookieJar: CookieJar;
}

type Route = (exchange: Exchange) => Promise<void>;

interface MovableClock extends Clock {
  advance(seconds: number): void;
}

const PLAIN_COOKIE = 'flavour';
const SIGNED_COOKIE = 'greeting';
const SIGNED_SALT = 'demo.greeting';
const COOKIE_AGE = 86_400;
const LIST_LIMIT = 50;
const MAX_NAME_LENGTH = 100;
const MAX_FORM_BYTES = 4096;

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

/** An error shown to the visitor as a page with this status. */
class HttpError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(status: number, title: string, message: string) {
    super(message);
    this.status = status;
    this.title = title;
  }
}

/**
 * Starts the demo site: the login/logout app of the Django tutorials, on `keepstate/node`, plus
 * pages for plain and signed cookies, for the stored sessions and for the logged-in user's
 * devices (with "sign out the other devices"). It runs the store's `migrate()` when it has one.
 *
 * @throws ImproperlyConfigured for a bad store URL or a secret shorter than 32 characters
 * @throws StoreError when the store cannot be reached or migrated
 * @example
 * const demo = await startDemo({ port: 0, store: 'memory:' });
 * console.log(demo.url);
 * await demo.close();
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  let secret = options.secret;
  if (secret === undefined) {
    console.warn(
      'keepstate demo: KEEPSTATE_SECRET is not set, so a random secret is used and sessions will not survive a restart.',
    );
    secret = randomBytes(32).toString('base64url');
  }
  const clock = options.testHooks === true ? movableClock() : undefined;
  const given = options.store ?? DEFAULT_STORE_URL;
  const owned = typeof given === 'string' ? await storeFromUrl(given) : null;
  const store: SessionStore = owned ?? (given as SessionStore);
  try {
    const manager = new SessionManager<DemoData>({ store, secret, ...(clock && { clock }) });
    await (store as { migrate?: () => Promise<void> }).migrate?.();
    const routes = demoRoutes(store, manager, clock);
    const server = createServer(
      withSession(manager, async (req, res, session, cookieJar) => {
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
        const url = new URL(req.url ?? '/', 'http://demo.invalid');
        const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
        const methods = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
        try {
          if (methods === undefined) {
            throw new HttpError(404, 'Not found', `There is no page at ${url.pathname}.`);
          }
          const route = Object.hasOwn(methods, method) ? methods[method] : undefined;
          if (route === undefined) {
            res.setHeader('Allow', Object.keys(methods).join(', '));
            throw new HttpError(
              405,
              'Method not allowed',
              `${url.pathname} does not take ${method}.`,
            );
          }
          await route({ req, res, url, session, cookieJar });
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          // Node would otherwise read, and discard, the rest of an oversized body.
          if (error.status === 413) res.setHeader('Connection', 'close');
          sendHtml(res, error.status, errorPage(error.title, error.message));
        }
      }),
    );
    const port = options.port ?? 8000;
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return {
      url: `http://${shownHost}:${address.port}`,
      async close() {
        await new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeAllConnections();
        });
        await owned?.close();
      },
    };
  } catch (error) {
    await owned?.close();
    throw error;
  }
}

function demoRoutes(
  store: SessionStore,
  manager: SessionManager<DemoData>,
  clock: MovableClock | undefined,
): Record<string, Record<string, Route>> {
  const routes: Record<string, Record<string, Route>> = {
    '/': {
      async GET({ res, session }) {
        const name = await session.get('name');
        if (typeof name !== 'string') {
          sendHtml(res, 200, homePage(undefined, undefined));
          return;
        }
        // Saving on every visit is what makes "10 seconds of inactivity" mean inactivity: the
        // core saves, and so pushes the expiry back, only when the session changed.
        const seen = await session.get('visits', 0);
        const visits = (typeof seen === 'number' ? seen : 0) + 1;
        await session.set('visits', visits);
        sendHtml(
          res,
          200,
          homePage(name, {
            visits,
            expireAtBrowserClose: await session.getExpireAtBrowserClose(),
            expiresAt: await session.getExpiryDate(),
            expiryAge: await session.getExpiryAge(),
            csrfToken: await csrfToken(session),
          }),
        );
      },
    },
    '/login': {
      async GET({ res, url, session }) {
        const next = keptNext(url.searchParams.get('next'));
        sendHtml(res, 200, loginPage(await csrfToken(session), undefined, '', next));
      },
      async POST({ req, res, session }) {
        const form = await readForm(req);
        await checkCsrfToken(session, form);
        const name = (form.get('name') ?? '').trim();
        const choice = form.get('expiry') ?? 'default';
        let problem: string | undefined;
        if (name === '' || name.length > MAX_NAME_LENGTH) {
          problem = `Enter a name of 1 to ${MAX_NAME_LENGTH} characters.`;
        } else if (!Object.hasOwn(EXPIRY_CHOICES, choice)) {
          problem = 'Choose how long to stay logged in.';
        }
        if (problem !== undefined) {
          const next = keptNext(form.get('next'));
          sendHtml(res, 400, loginPage(await csrfToken(session), problem, name, next));
          return;
        }
        // Django's login(): a new key against session fixation, and a new CSRF token.
        await session.cycleKey();
        await session.update({ name, visits: 0, csrfToken: newToken() });
        // Filed under the name, so the devices page can list and end this user's sessions.
        await session.setUser(name, { userAgent: req.headers['user-agent'] });
        await session.setExpiry(EXPIRY_CHOICES[choice as ExpiryChoice].expiry);
        redirect(res, nextPage(form.get('next')));
      },
    },
    '/logout': {
      async GET({ res, session }) {
        const name = await session.get('name');
        const loggedIn = typeof name === 'string';
        sendHtml(
          res,
          200,
          logoutPage(loggedIn ? name : undefined, loggedIn ? await csrfToken(session) : undefined),
        );
      },
      async POST({ req, res, session }) {
        await checkCsrfToken(session, await readForm(req));
        await session.flush();
        redirect(res, '/');
      },
    },
    '/cookies': {
      async GET({ res, session, cookieJar }) {
        const plainRaw = cookieJar.cookies[PLAIN_COOKIE];
        const signed = cookieJar.getSignedCookie(SIGNED_COOKIE, { salt: SIGNED_SALT });
        const view = {
          plainName: PLAIN_COOKIE,
          plainRaw,
          plain: plainRaw === undefined ? undefined : decode(plainRaw),
          signedName: SIGNED_COOKIE,
          signedRaw: cookieJar.cookies[SIGNED_COOKIE],
          signed: signed === undefined ? undefined : decode(signed),
          salt: SIGNED_SALT,
          csrfToken: await csrfToken(session),
        };
        sendHtml(res, 200, cookiesPage(view, await session.pop('notice')));
      },
    },
    '/cookies/plain': {
      async POST({ req, res, session, cookieJar }) {
        const form = await readForm(req);
        await checkCsrfToken(session, form);
        if (form.get('action') === 'delete') {
          cookieJar.deleteCookie(PLAIN_COOKIE, { sameSite: 'Lax' });
        } else {
          // Percent-encoded: a header cannot carry every character a visitor may type.
          const value = encodeURIComponent(form.get('value') ?? '');
          cookieJar.setCookie(PLAIN_COOKIE, value, { maxAge: COOKIE_AGE, sameSite: 'Lax' });
        }
        redirect(res, '/cookies');
      },
    },
    '/cookies/signed': {
      async POST({ req, res, session, cookieJar }) {
        const form = await readForm(req);
        await checkCsrfToken(session, form);
        const value = encodeURIComponent(form.get('value') ?? '');
        cookieJar.setSignedCookie(SIGNED_COOKIE, value, signedCookieOptions());
        redirect(res, '/cookies');
      },
    },
    '/cookies/tamper': {
      async POST({ req, res, session, cookieJar }) {
        await checkCsrfToken(session, await readForm(req));
        const raw = cookieJar.cookies[SIGNED_COOKIE];
        if (raw === undefined) {
          await session.set('notice', 'There is no signed cookie to tamper with.');
        } else {
          // value:timestamp:signature, and the value is percent-encoded, so holds no colon.
          const [value = '', ...signature] = raw.split(':');
          const forged = value === 'admin' ? 'root' : 'admin';
          cookieJar.setCookie(
            SIGNED_COOKIE,
            [forged, ...signature].join(':'),
            signedCookieOptions(),
          );
          await session.set(
            'notice',
            `The cookie now says "${forged}", still with the signature of "${decode(value)}".`,
          );
        }
        redirect(res, '/cookies');
      },
    },
    '/sessions': {
      async GET({ res, session }) {
        const token = await csrfToken(session);
        const notice = await session.pop('notice');
        const records =
          store.list === undefined
            ? null
            : (await store.list(LIST_LIMIT)).sort(
                (a, b) => b.expiresAt.getTime() - a.expiresAt.getTime(),
              );
        const view = {
          storeName: store.constructor.name,
          records,
          limit: LIST_LIMIT,
          ownKey: session.sessionKey,
          csrfToken: token,
        };
        sendHtml(res, 200, sessionsPage(view, notice));
      },
    },
    '/sessions/clear-expired': {
      async POST({ req, res, session }) {
        await checkCsrfToken(session, await readForm(req));
        const count = await store.clearExpired();
        await session.set(
          'notice',
          `clearExpired() removed ${count} expired session${count === 1 ? '' : 's'}.`,
        );
        redirect(res, '/sessions');
      },
    },
    '/devices': {
      async GET({ res, session }) {
        const user = await session.getUser();
        if (user === undefined) {
          // Django's login_required: log in, then come back here.
          redirect(res, `/login?next=${encodeURIComponent('/devices')}`);
          return;
        }
        const token = await csrfToken(session);
        const notice = await session.pop('notice');
        const devices =
          store.listSessions === undefined
            ? null
            : (await manager.listSessions(user)).sort(
                (a, b) => b.lastActivity.getTime() - a.lastActivity.getTime(),
              );
        const own = session.sessionKey;
        const view = {
          user,
          storeName: store.constructor.name,
          devices,
          ownKeyHash: own === null ? null : sessionKeyHash(own),
          csrfToken: token,
        };
        sendHtml(res, 200, devicesPage(view, notice));
      },
    },
    '/devices/sign-out-others': {
      async POST({ req, res, session }) {
        await checkCsrfToken(session, await readForm(req));
        const user = await session.getUser();
        if (user === undefined) {
          redirect(res, `/login?next=${encodeURIComponent('/devices')}`);
          return;
        }
        const count = await manager.deleteUserSessions(user, { except: session.sessionKey });
        await session.set(
          'notice',
          `Signed out ${count} other ${count === 1 ? 'device' : 'devices'}.`,
        );
        redirect(res, '/devices');
      },
    },
    '/style.css': {
      async GET({ res }) {
        res.writeHead(200, {
          'Content-Type': 'text/css; charset=utf-8',
          'Cache-Control': 'max-age=3600',
        });
        res.end(STYLESHEET);
      },
    },
  };
  if (clock !== undefined) {
    routes['/__test__/advance'] = {
      async POST({ res, url }) {
        const seconds = Number(url.searchParams.get('seconds'));
        if (!Number.isFinite(seconds)) {
          throw new HttpError(400, 'Bad request', 'Give ?seconds=N, a number.');
        }
        clock.advance(seconds);
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`${clock().toISOString()}\n`);
      },
    };
  }
  return routes;

  /** `next` when it is one of the demo's pages, else `/`: a login never sends a visitor off-site. */
  function nextPage(next: string | null): string {
    if (next === null || next === '/login') return '/';
    const methods = Object.hasOwn(routes, next) ? routes[next] : undefined;
    return methods !== undefined && Object.hasOwn(methods, 'GET') ? next : '/';
  }

  /** `next` for the login form to pass on, when it names a page other than the home page. */
  function keptNext(next: string | null): string | undefined {
    const page = nextPage(next);
    return page === '/' ? undefined : page;
  }
}

/**
 * The session's CSRF token, made and stored on first use.
 *
 * A per-session token is enough to show the idea (and the session cookie's SameSite=Lax already
 * keeps other sites' POSTs from carrying it); a real app should use its framework's CSRF
 * protection, which also checks the Origin header and does not need a session for it.
 */
async function csrfToken(session: Session<DemoData>): Promise<string> {
  const token = await session.get('csrfToken');
  if (typeof token === 'string') return token;
  const fresh = newToken();
  await session.set('csrfToken', fresh);
  return fresh;
}

/** @throws HttpError (403) unless the form's token is the session's */
async function checkCsrfToken(session: Session<DemoData>, form: URLSearchParams): Promise<void> {
  const expected = await session.get('csrfToken');
  const given = form.get('csrfToken');
  if (typeof expected !== 'string' || given === null || !sameText(expected, given)) {
    throw new HttpError(
      403,
      'Forbidden',
      "The form's CSRF token does not match your session (did it expire?). Go back, reload the page and try again.",
    );
  }
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares in constant time, so response timing does not reveal how much of a guess was right. */
function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** @throws HttpError (415, 413) for a body that is not a small urlencoded form */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'Unsupported form', 'Send the form as a browser does.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new HttpError(413, 'Too large', 'That form is too large.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function signedCookieOptions() {
  return { salt: SIGNED_SALT, maxAge: COOKIE_AGE, sameSite: 'Lax', httpOnly: true } as const;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function sendHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    // Pages show one visitor's session: never keep them for the back button or a shared cache.
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** Post/Redirect/Get: a 303 makes the browser GET the next page, so reloading never re-posts. */
function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

function movableClock(): MovableClock {
  let offset = 0;
  return Object.assign(() => new Date(Date.now() + offset), {
    advance(seconds: number) {
      offset += seconds * 1000;
    },
  });
}
