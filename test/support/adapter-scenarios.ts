import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { setSignedCookie, signCookieValue } from '../../src/cookies/signed-cookie.js';
import type { CookieJar } from '../../src/core/cookie-jar.js';
import { StoreError } from '../../src/core/errors.js';
import type { Session } from '../../src/core/session.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionRecord } from '../../src/core/session-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { TestServer } from './http-server.js';
import { testClock } from './test-clock.js';

/** Seconds: the scenario managers' `storeTimeout`, short so a hung store fails fast. */
const STORE_TIMEOUT = 0.25;

/** The secret every scenario app's manager signs with. */
export const SCENARIO_SECRET = 'a-scenario-secret-that-is-long-enough-0123456789';
/** A retired secret, still accepted through `fallbackSecrets`. */
export const SCENARIO_OLD_SECRET = 'an-older-scenario-secret-still-accepted-9876543210';

/** What a scenario app hands the shared routes: the request's URL, session and cookie jar. */
export interface ScenarioRequest {
  /** The path and query (an absolute URL is fine too), e.g. `/set?name=ann`. */
  readonly url: string;
  readonly session: Session;
  readonly cookieJar: CookieJar;
}

/** What the shared routes answer; each app renders it with its framework's own calls. */
export type ScenarioReply =
  | {
      readonly kind: 'text';
      readonly status: number;
      readonly body: string;
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'redirect'; readonly location: string };

/** The routes every scenario app serves; it rejects on `/fail`, which the app must let through. */
export type ScenarioHandler = (request: ScenarioRequest) => Promise<ScenarioReply>;

/**
 * Starts an app for one adapter on 127.0.0.1 (a free port): the adapter's session support for
 * `manager`, and every path routed to `handle` with the framework's own way of responding
 * (`text`: status, headers, `text/plain` body; `redirect`: the framework's redirect, 302).
 */
export type StartScenarioApp = (
  manager: SessionManager,
  handle: ScenarioHandler,
) => Promise<TestServer>;

/** A MemoryStore whose reads and writes can be made to fail or hang, as a backend that went down. */
class FailingStore extends MemoryStore {
  // It stands for a backend that can go down or hang, so the guard's deadline applies.
  override readonly inProcess = false;
  failWrites = false;
  failReads = false;
  /** Loads wait, as on a server that accepts the command and never answers, until released. */
  hangReads = false;
  readonly #held: (() => void)[] = [];

  override async load(sessionKey: string): Promise<SessionRecord | null> {
    if (this.failReads) throw new StoreError('the session store is down');
    if (this.hangReads) await new Promise<void>((resolve) => this.#held.push(resolve));
    return super.load(sessionKey);
  }

  /** Lets every held load go on (long after the manager gave up on it). */
  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }

  override async create(record: SessionRecord): Promise<string> {
    if (this.failWrites) throw new StoreError('the session store is down');
    return super.create(record);
  }

  override async save(record: SessionRecord): Promise<string> {
    if (this.failWrites) throw new StoreError('the session store is down');
    return super.save(record);
  }
}

/** Holds `/slow` after its session write until a test lets it go on. */
class Gate {
  readonly arrive: () => void;
  readonly release: () => void;
  readonly arrived: Promise<void>;
  readonly released: Promise<void>;

  constructor() {
    let arrive = () => {};
    let release = () => {};
    this.arrived = new Promise((resolve) => {
      arrive = resolve;
    });
    this.released = new Promise((resolve) => {
      release = resolve;
    });
    this.arrive = arrive;
    this.release = release;
  }
}

function routes(gate: () => Gate): ScenarioHandler {
  const text = (body: string, status = 200, headers = {}): ScenarioReply => ({
    kind: 'text',
    status,
    body,
    headers,
  });
  return async ({ url, session, cookieJar }) => {
    const { pathname, searchParams } = new URL(url, 'http://127.0.0.1');
    const name = searchParams.get('name') ?? 'anon';
    switch (pathname) {
      case '/untouched':
        return text('untouched');
      case '/get':
        return text(String(await session.get('name', 'guest')));
      case '/set':
        await session.set('name', name);
        return text('set');
      case '/cycle':
        await session.set('name', name);
        await session.cycleKey();
        return text('cycled');
      case '/flush':
        await session.flush();
        return text('flushed');
      case '/redirect':
        await session.set('name', name);
        return { kind: 'redirect', location: '/get' };
      case '/vary':
        await session.get('name');
        return text('varied', 200, { Vary: 'Accept-Encoding' });
      case '/cache':
        await session.set('name', name);
        return text('cached', 200, { 'Cache-Control': 'Public, max-age=60' });
      case '/fail':
        await session.set('name', 'never');
        throw new Error('the handler failed on purpose');
      case '/slow': {
        await session.set('late', true);
        const current = gate();
        current.arrive();
        await current.released;
        return text('slow', 200, { 'X-Handler': 'slow' });
      }
      case '/cookies/set': {
        const value = searchParams.get('value') ?? '';
        cookieJar.setCookie('plain', value, { maxAge: 60 });
        cookieJar.setSignedCookie('signed', value, { salt: 'scenario', maxAge: 60 });
        await session.set('name', name);
        return text('cookies set', 200, { 'X-Handler': 'cookies' });
      }
      case '/cookies/get':
        return text(
          JSON.stringify({
            plain: cookieJar.cookies.plain ?? null,
            signed: cookieJar.getSignedCookie('signed', { salt: 'scenario', maxAge: 3600 }) ?? null,
          }),
        );
      case '/cookies/delete':
        cookieJar.deleteCookie('plain');
        return text('cookie deleted');
    }
    const status = /^\/status\/(\d{3})$/.exec(pathname)?.[1];
    if (status !== undefined) {
      await session.set('name', name);
      return text(`status ${status}`, Number(status));
    }
    return text('no such route', 404);
  };
}

const sessionCookieOf = (res: Response) =>
  res.headers.getSetCookie().find((value) => value.startsWith('sessionid='));
const cookieOf = (res: Response, name: string) =>
  res.headers.getSetCookie().find((value) => value.startsWith(`${name}=`));
/** The `name=value` part of a `Set-Cookie` value, as a browser sends it back. */
const pairOf = (setCookie: string | undefined) => (setCookie ?? '').split(';')[0] ?? '';
const keyOf = (setCookie: string | undefined) => pairOf(setCookie).slice('sessionid='.length);
const STACK = /\n\s+at |\.[cm]?[jt]s:\d+:\d+/;

/**
 * Runs the scenario list every adapter must pass against the app `start` makes: real HTTP on
 * 127.0.0.1, a `MemoryStore`, a clock that moves only when a test moves it.
 */
export function runAdapterScenarios(adapter: string, start: StartScenarioApp): void {
  describe(`keepstate/${adapter}: the adapter scenarios`, () => {
    const clock = testClock();
    const store = new FailingStore();
    const warnings: string[] = [];
    const manager = new SessionManager({
      store,
      secret: SCENARIO_SECRET,
      fallbackSecrets: [SCENARIO_OLD_SECRET],
      clock,
      logger: { warn: (message) => warnings.push(message) },
      storeTimeout: STORE_TIMEOUT,
      cacheControlPrivate: true,
    });
    let gate = new Gate();
    let server: TestServer;

    before(async () => {
      server = await start(
        manager,
        routes(() => gate),
      );
    });
    after(() => server.close());

    // Every request must be answered within storeTimeout + 1 s: one that is not fails the test
    // with a TimeoutError (an outcome, not a measurement).
    const get = (path: string, cookie?: string) =>
      fetch(`${server.url}${path}`, {
        redirect: 'manual',
        headers: cookie === undefined ? {} : { cookie },
        signal: AbortSignal.timeout((STORE_TIMEOUT + 1) * 1000),
      });
    const login = async (name = 'ann') => {
      const res = await get(`/set?name=${name}`);
      assert.equal(res.status, 200);
      return pairOf(sessionCookieOf(res));
    };
    // Handlers that fail log to stderr by design; keep the test output readable.
    const quietly = (t: TestContext) => {
      t.mock.method(console, 'error', () => {});
      t.mock.method(console, 'info', () => {});
    };

    test('a request that never touches the session: no Set-Cookie, no Vary', async () => {
      const res = await get('/untouched');
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'untouched');
      assert.deepEqual(res.headers.getSetCookie(), []);
      assert.equal(res.headers.get('vary'), null);
    });

    test('a read without a cookie: Vary: Cookie, no Set-Cookie, nothing stored', async () => {
      const size = store.size;
      const res = await get('/get');
      assert.equal(await res.text(), 'guest');
      assert.equal(res.headers.get('vary'), 'Cookie');
      assert.deepEqual(res.headers.getSetCookie(), []);
      assert.equal(store.size, size);
    });

    test("set: a session cookie with Django's attributes, and the record stored", async () => {
      const res = await get('/set?name=ann');
      const cookie = sessionCookieOf(res) ?? '';
      const key = keyOf(cookie);
      assert.match(key, /^[a-z0-9]{32}$/);
      assert.equal(
        cookie,
        `sessionid=${key}; Max-Age=1209600; Path=/; Expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; SameSite=Lax`,
      );
      assert.equal(res.headers.get('vary'), 'Cookie');
      assert.deepEqual((await store.load(key))?.data, { name: 'ann' });

      const again = await get('/get', pairOf(cookie));
      assert.equal(await again.text(), 'ann');
      assert.equal(again.headers.get('vary'), 'Cookie');
      assert.deepEqual(again.headers.getSetCookie(), [], 'an unmodified session is not re-sent');
    });

    test('a bogus session cookie gets a fresh session and is never adopted', async () => {
      const bogus = 'abcdefghijklmnopqrstuvwxyz012345';
      const read = await get('/get', `sessionid=${bogus}`);
      assert.equal(await read.text(), 'guest');
      assert.match(
        sessionCookieOf(read) ?? '',
        /^sessionid="";.*Max-Age=0/,
        'stale cookie deleted',
      );

      const write = await get('/set?name=mallory', `sessionid=${bogus}`);
      const key = keyOf(sessionCookieOf(write));
      assert.match(key, /^[a-z0-9]{32}$/);
      assert.notEqual(key, bogus);
      assert.equal(await store.exists(bogus), false);

      const size = store.size;
      const refused = warnings.length;
      const malformed = await get('/get', 'sessionid=../../etc/passwd');
      assert.equal(await malformed.text(), 'guest');
      assert.equal(store.size, size);
      assert.equal(warnings.length, refused + 1, 'the refused value is reported');
    });

    test('flush deletes the record and the cookie', async () => {
      const pair = await login();
      const res = await get('/flush', pair);
      assert.equal(
        sessionCookieOf(res),
        'sessionid=""; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax',
      );
      assert.equal(res.headers.get('vary'), 'Cookie');
      assert.equal(await store.exists(pair.slice('sessionid='.length)), false);
      assert.equal(await (await get('/get', pair)).text(), 'guest');
    });

    test('cycleKey on login: a new key, the old record gone, the data kept', async () => {
      const before = await login('anon');
      const res = await get('/cycle?name=ann', before);
      const after = pairOf(sessionCookieOf(res));
      assert.match(after, /^sessionid=[a-z0-9]{32}$/);
      assert.notEqual(after, before);
      assert.equal(await store.load(before.slice('sessionid='.length)), null);
      assert.equal(await (await get('/get', after)).text(), 'ann');
    });

    test('a 5xx status saves nothing and sets no cookie', async () => {
      const size = store.size;
      const res = await get('/status/503?name=never');
      assert.equal(res.status, 503);
      assert.equal(await res.text(), 'status 503');
      assert.equal(sessionCookieOf(res), undefined);
      assert.equal(store.size, size);
    });

    test('a 4xx status still saves, as in Django', async () => {
      const res = await get('/status/404?name=lost');
      assert.equal(res.status, 404);
      assert.equal(await (await get('/get', pairOf(sessionCookieOf(res)))).text(), 'lost');
    });

    test("Vary: Cookie is merged with the handler's Vary", async () => {
      const res = await get('/vary');
      assert.equal(res.headers.get('vary'), 'Accept-Encoding, Cookie');
    });

    test('a redirect after set carries the cookie, and the record is stored before it leaves', async () => {
      const res = await get('/redirect?name=bob');
      assert.equal(res.status, 302);
      assert.match(res.headers.get('location') ?? '', /\/get$/);
      const cookie = sessionCookieOf(res);
      assert.ok(cookie, 'the session cookie is on the redirect');
      assert.deepEqual((await store.load(keyOf(cookie)))?.data, { name: 'bob' });
      // Some frameworks add their own Vary to a redirect (Express: Accept).
      assert.match(res.headers.get('vary') ?? '', /(^|, )Cookie$/);
    });

    test('a session deleted mid-request: 400, no Set-Cookie, nothing resurrected', async (t) => {
      quietly(t);
      const pair = await login('eve');
      gate = new Gate();
      const slow = get('/slow', pair);
      await gate.arrived;
      const logout = await get('/flush', pair);
      assert.equal(logout.status, 200);
      const size = store.size;
      gate.release();
      const res = await slow;
      assert.equal(res.status, 400);
      assert.deepEqual(res.headers.getSetCookie(), []);
      assert.equal(res.headers.get('x-handler'), null, "none of the failed response's headers");
      assert.doesNotMatch(await res.text(), STACK);
      assert.equal(store.size, size);
      assert.equal(await store.exists(pair.slice('sessionid='.length)), false);
    });

    test('a handler that throws: 5xx, nothing saved, no stack trace', async (t) => {
      quietly(t);
      const size = store.size;
      const res = await get('/fail');
      assert.ok(res.status >= 500, `status ${res.status}`);
      assert.equal(sessionCookieOf(res), undefined);
      assert.doesNotMatch(await res.text(), STACK);
      assert.equal(store.size, size);
    });

    test('a store that fails while saving: 503, no Set-Cookie at all, no stack trace', async (t) => {
      quietly(t);
      const size = store.size;
      store.failWrites = true;
      try {
        const res = await get('/cookies/set?value=lost');
        assert.equal(res.status, 503);
        assert.deepEqual(res.headers.getSetCookie(), [], "not even the handler's own cookies");
        assert.equal(res.headers.get('x-handler'), null, "none of the failed response's headers");
        assert.doesNotMatch(await res.text(), STACK);
      } finally {
        store.failWrites = false;
      }
      assert.equal(store.size, size);
    });

    test('a store that fails while loading: 503 (fail closed), nothing saved, the cookie kept', async (t) => {
      quietly(t);
      const pair = await login('kim');
      const size = store.size;
      store.failReads = true;
      try {
        for (const path of ['/get', '/set?name=other']) {
          const res = await get(path, pair);
          assert.equal(res.status, 503, path);
          assert.equal(
            sessionCookieOf(res),
            undefined,
            `${path}: the cookie is neither set nor deleted`,
          );
          const body = await res.text();
          assert.doesNotMatch(body, STACK);
          assert.ok(!body.includes(keyOf(pair)), 'no session key in the body');
        }
      } finally {
        store.failReads = false;
      }
      assert.equal(store.size, size);
      assert.equal(await (await get('/get', pair)).text(), 'kim', 'the session is there again');
    });

    test('a store that never answers: 503 once storeTimeout has passed, the session intact', async (t) => {
      quietly(t);
      const pair = await login('lee');
      store.hangReads = true;
      try {
        const res = await get('/get', pair);
        assert.equal(res.status, 503);
        assert.equal(sessionCookieOf(res), undefined);
      } finally {
        store.hangReads = false;
        store.release();
      }
      assert.equal(await (await get('/get', pair)).text(), 'lee');
    });

    test('Cache-Control: private is merged in when the session cookie is set or deleted, only then', async () => {
      const set = await get('/cache?name=pat');
      assert.ok(sessionCookieOf(set));
      assert.equal(set.headers.get('cache-control'), 'max-age=60, private');
      const deleted = await get('/flush', pairOf(sessionCookieOf(set)));
      assert.match(sessionCookieOf(deleted) ?? '', /Max-Age=0/);
      assert.equal(deleted.headers.get('cache-control'), 'private');
      const read = await get('/get', pairOf(sessionCookieOf(await get('/set?name=pat'))));
      assert.equal(sessionCookieOf(read), undefined);
      assert.equal(read.headers.get('cache-control'), null);
    });

    describe('with failOpen', () => {
      const openStore = new FailingStore();
      const openManager = new SessionManager({
        store: openStore,
        secret: SCENARIO_SECRET,
        clock,
        logger: { warn: (message) => warnings.push(message) },
        storeTimeout: STORE_TIMEOUT,
        failOpen: true,
      });
      let openServer: TestServer;
      before(async () => {
        openServer = await start(
          openManager,
          routes(() => gate),
        );
      });
      after(() => openServer.close());
      const getOpen = (path: string, cookie?: string) =>
        fetch(`${openServer.url}${path}`, {
          redirect: 'manual',
          headers: cookie === undefined ? {} : { cookie },
          signal: AbortSignal.timeout((STORE_TIMEOUT + 1) * 1000),
        });

      test('a failing or hung store gives an anonymous session; the real one survives', async () => {
        const login = await getOpen('/set?name=sam');
        const pair = pairOf(sessionCookieOf(login));
        const size = openStore.size;
        for (const mode of ['failReads', 'hangReads'] as const) {
          openStore[mode] = true;
          try {
            const read = await getOpen('/get', pair);
            assert.equal(read.status, 200, mode);
            assert.equal(await read.text(), 'guest', `${mode}: anonymous, never sam's data`);
            assert.deepEqual(read.headers.getSetCookie(), [], `${mode}: the cookie is kept`);
            const write = await getOpen('/set?name=other', pair);
            assert.equal(write.status, 200, mode);
            assert.deepEqual(write.headers.getSetCookie(), [], `${mode}: nothing saved`);
          } finally {
            openStore[mode] = false;
            openStore.release();
          }
        }
        assert.equal(openStore.size, size);
        assert.equal(await (await getOpen('/get', pair)).text(), 'sam');
      });

      test('a store that fails while saving: the response goes out without a session cookie', async () => {
        openStore.failWrites = true;
        try {
          const res = await getOpen('/set?name=sam');
          assert.equal(res.status, 200);
          assert.equal(sessionCookieOf(res), undefined);
        } finally {
          openStore.failWrites = false;
        }
      });
    });

    test("cookie helpers: plain and signed cookies round-trip in Django's format", async () => {
      const value = 'Zoë & co';
      const res = await get(`/cookies/set?value=${encodeURIComponent(value)}`);
      const expires = 'Expires=Tue, 14 Nov 2023 22:14:20 GMT';
      assert.equal(cookieOf(res, 'plain'), `plain="Zo\\353 & co"; Max-Age=60; Path=/; ${expires}`);
      const signed = setSignedCookie('signed', value, {
        secret: SCENARIO_SECRET,
        salt: 'scenario',
        maxAge: 60,
        clock,
      });
      assert.equal(cookieOf(res, 'signed'), signed);
      const names = res.headers.getSetCookie().map((cookie) => cookie.split('=')[0]);
      assert.deepEqual(names, ['plain', 'signed', 'sessionid'], 'the session cookie comes last');

      const back = `${pairOf(cookieOf(res, 'plain'))}; ${pairOf(cookieOf(res, 'signed'))}`;
      const read = await get('/cookies/get', back);
      assert.deepEqual(await read.json(), { plain: value, signed: value });
    });

    test('a tampered, wrongly salted or expired signed cookie reads as undefined', async () => {
      const read = async (signed: string) =>
        ((await (await get('/cookies/get', `signed=${signed}`)).json()) as { signed: unknown })
          .signed;
      const sign = (salt: string) =>
        signCookieValue('signed', 'admin', { secret: SCENARIO_SECRET, salt, clock });
      const good = sign('scenario');
      assert.equal(await read(good), 'admin');
      assert.equal(await read(`${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`), null);
      assert.equal(await read(good.replace('admin', 'root!')), null);
      assert.equal(await read(sign('another purpose')), null);
      assert.equal(await read('admin'), null);
      clock.advance(3601);
      try {
        assert.equal(await read(good), null, 'older than maxAge');
      } finally {
        clock.advance(-3601);
      }
    });

    test("signed cookies verify under the manager's fallback secrets", async () => {
      const sign = (secret: string) =>
        signCookieValue('signed', 'rotated', { secret, salt: 'scenario', clock });
      const read = async (signed: string) =>
        ((await (await get('/cookies/get', `signed=${signed}`)).json()) as { signed: unknown })
          .signed;
      assert.equal(await read(sign(SCENARIO_OLD_SECRET)), 'rotated');
      assert.equal(await read(sign('a-secret-this-app-has-never-been-given-42')), null);
    });

    test("deleteCookie sends Django's deletion header", async () => {
      const res = await get('/cookies/delete');
      assert.deepEqual(res.headers.getSetCookie(), [
        'plain=""; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      ]);
    });

    test("request cookies are parsed with Django's rules", async () => {
      const res = await get('/cookies/get', 'plain=first; plain="a\\"b\\054c"');
      assert.deepEqual(await res.json(), { plain: 'a"b,c', signed: null });
    });
  });
}

/** `true` when `A` and `B` are the same type (not merely assignable either way). */
export type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Fails to compile unless `T` is `true`: `type _ = Expect<Equal<typeof x, Session>>`. */
export type Expect<T extends true> = T;
