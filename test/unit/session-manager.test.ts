import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionInterrupted } from '../../src/core/errors.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionOptions } from '../../src/core/session-options.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { testClock } from '../support/test-clock.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

function setup(options: Partial<SessionOptions> = {}) {
  const clock = testClock();
  const warnings: string[] = [];
  const store = new MemoryStore({ clock });
  const manager = new SessionManager({
    store,
    secret: SECRET,
    clock,
    logger: { warn: (message) => warnings.push(message) },
    ...options,
  });
  /** A stored session holding `data`; returns its cookie header. */
  const login = async (data: Record<string, unknown>) => {
    const session = manager.open(null);
    await session.update(data);
    await manager.commit(session, 200);
    return `sessionid=${session.sessionKey}`;
  };
  return { clock, store, manager, warnings, login };
}

describe("SessionManager.commit: Django's middleware decision", () => {
  test('no cookie, session untouched: no Set-Cookie, no Vary, no store call', async () => {
    const { manager, store } = setup();
    const session = manager.open(undefined);
    assert.deepEqual(await manager.commit(session, 200), {
      setCookie: null,
      vary: false,
      cacheControlPrivate: false,
    });
    assert.equal(store.size, 0);
  });

  test('a cookie sent but the session untouched: nothing, and nothing loaded', async () => {
    const { manager, login, store } = setup();
    const cookie = await login({ a: 1 });
    let loads = 0;
    const original = store.load.bind(store);
    store.load = (key) => {
      loads++;
      return original(key);
    };
    const session = manager.open(cookie);
    assert.deepEqual(await manager.commit(session, 200), {
      setCookie: null,
      vary: false,
      cacheControlPrivate: false,
    });
    assert.equal(loads, 0);
  });

  test('a session only read: Vary: Cookie and no Set-Cookie', async () => {
    const { manager, login } = setup();
    const session = manager.open(await login({ a: 1 }));
    assert.equal(await session.get('a'), 1);
    assert.deepEqual(await manager.commit(session, 200), {
      setCookie: null,
      vary: true,
      cacheControlPrivate: false,
    });
  });

  test("a new session with data: saved, cookie with Django's attributes", async () => {
    const { manager, store } = setup();
    const session = manager.open(null);
    await session.set('user', 'alice');
    const outcome = await manager.commit(session, 200);
    assert.equal(outcome.vary, true);
    assert.match(
      outcome.setCookie ?? '',
      /^sessionid=[a-z0-9]{32}; Max-Age=1209600; Path=\/; Expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; SameSite=Lax$/i,
    );
    assert.equal(store.size, 1);
  });

  test('an anonymous session that stays empty creates no record and no cookie', async () => {
    const { manager, store } = setup();
    const session = manager.open(null);
    assert.deepEqual(await session.items(), []);
    assert.deepEqual(await manager.commit(session, 200), {
      setCookie: null,
      vary: true,
      cacheControlPrivate: false,
    });
    assert.equal(store.size, 0);
  });

  test('flush with the cookie sent: deletion cookie once, record gone', async () => {
    const { manager, login, store } = setup();
    const session = manager.open(await login({ user: 'bob' }));
    await session.flush();
    const outcome = await manager.commit(session, 200);
    assert.equal(outcome.vary, true);
    const attributes = (outcome.setCookie ?? '').toLowerCase();
    assert.match(attributes, /^sessionid=""; /);
    assert.match(attributes, /max-age=0/);
    assert.match(attributes, /expires=thu, 01 jan 1970 00:00:00 gmt/);
    assert.match(attributes, /samesite=lax/);
    assert.equal(store.size, 0);
  });

  test('flush without a cookie sent: nothing to delete', async () => {
    const { manager } = setup();
    const session = manager.open(null);
    await session.set('a', 1);
    await session.flush();
    assert.deepEqual(await manager.commit(session, 200), {
      setCookie: null,
      vary: true,
      cacheControlPrivate: false,
    });
  });

  test('a bogus cookie gives a fresh session, a security warning, and its cookie deleted', async () => {
    const { manager, warnings } = setup();
    const session = manager.open('sessionid=../../etc/passwd');
    assert.equal(session.sessionKey, null);
    assert.deepEqual(await session.items(), []);
    assert.equal(warnings.length, 1);
    const outcome = await manager.commit(session, 200);
    assert.match(outcome.setCookie ?? '', /^sessionid="";.*Max-Age=0/i);
  });

  test('an unknown well-formed key is not adopted: data goes under a new key', async () => {
    const { manager, store } = setup();
    const planted = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const session = manager.open(`sessionid=${planted}`);
    await session.set('a', 1);
    const outcome = await manager.commit(session, 200);
    assert.doesNotMatch(outcome.setCookie ?? '', new RegExp(planted));
    assert.equal(await store.exists(planted), false);
    assert.equal(store.size, 1);
  });

  test('cycleKey: the new key in the cookie, the old record gone', async () => {
    const { manager, login, store } = setup();
    const cookie = await login({ user: 'carol' });
    const oldKey = cookie.split('=')[1] ?? '';
    const session = manager.open(cookie);
    await session.cycleKey();
    const outcome = await manager.commit(session, 200);
    assert.match(outcome.setCookie ?? '', new RegExp(`^sessionid=${session.sessionKey};`));
    assert.equal(await store.exists(oldKey), false);
    assert.deepEqual((await store.load(session.sessionKey ?? ''))?.data, { user: 'carol' });
  });

  for (const status of [500, 502, 503, 599]) {
    test(`status ${status}: nothing saved, no cookie, Vary still sent for an accessed session`, async () => {
      const { manager, store } = setup();
      const session = manager.open(null);
      await session.set('a', 1);
      assert.deepEqual(await manager.commit(session, status), {
        setCookie: null,
        vary: true,
        cacheControlPrivate: false,
      });
      assert.equal(store.size, 0);
    });
  }

  test('status 499 still saves', async () => {
    const { manager, store } = setup();
    const session = manager.open(null);
    await session.set('a', 1);
    assert.notEqual((await manager.commit(session, 499)).setCookie, null);
    assert.equal(store.size, 1);
  });

  test('saveEveryRequest: an untouched session is saved and its cookie re-sent with Vary', async () => {
    const { manager, login, clock, store } = setup({ saveEveryRequest: true });
    const cookie = await login({ a: 1 });
    clock.advance(3600);
    const session = manager.open(cookie);
    const outcome = await manager.commit(session, 200);
    assert.equal(outcome.vary, true);
    assert.match(outcome.setCookie ?? '', new RegExp(`^${cookie}; Max-Age=1209600;`));
    const record = await store.load(session.sessionKey ?? '');
    assert.equal(record?.expiresAt.getTime(), clock().getTime() + 1_209_600_000);
  });

  test('saveEveryRequest does not save an empty session', async () => {
    const { manager, store } = setup({ saveEveryRequest: true });
    assert.deepEqual(await manager.commit(manager.open(null), 200), {
      setCookie: null,
      vary: false,
      cacheControlPrivate: false,
    });
    assert.equal(store.size, 0);
  });

  test('a browser-close session gets no Max-Age or Expires', async () => {
    const { manager } = setup();
    const session = manager.open(null);
    await session.set('a', 1);
    await session.setExpiry(0);
    const header = (await manager.commit(session, 200)).setCookie ?? '';
    assert.doesNotMatch(header, /max-age|expires/i);
    const policy = setup({ expireAtBrowserClose: true });
    const other = policy.manager.open(null);
    await other.set('a', 1);
    assert.doesNotMatch(
      (await policy.manager.commit(other, 200)).setCookie ?? '',
      /max-age|expires/i,
    );
  });

  test('setExpiry(seconds) sets Max-Age; a Date sets Max-Age to the seconds until it', async () => {
    const { manager, clock } = setup();
    const session = manager.open(null);
    await session.set('a', 1);
    await session.setExpiry(300);
    assert.match((await manager.commit(session, 200)).setCookie ?? '', /Max-Age=300;/);
    const dated = manager.open(null);
    await dated.set('a', 1);
    await dated.setExpiry(new Date(clock().getTime() + 600_500));
    assert.match((await manager.commit(dated, 200)).setCookie ?? '', /Max-Age=600;/);
  });

  test('cookie settings reach the Set-Cookie and the deletion cookie', async () => {
    const { manager } = setup({
      cookieName: '__Host-sid',
      cookieSecure: true,
      cookieHttpOnly: false,
      cookieSameSite: 'Strict',
    });
    const session = manager.open(null);
    await session.set('a', 1);
    const header = (await manager.commit(session, 200)).setCookie ?? '';
    assert.match(header, /^__Host-sid=/);
    assert.match(header, /; Secure/);
    assert.match(header, /SameSite=Strict/);
    assert.doesNotMatch(header, /HttpOnly/i);
    const cookie = header.split(';')[0] ?? '';
    const again = manager.open(cookie);
    await again.flush();
    const deletion = (await manager.commit(again, 200)).setCookie ?? '';
    assert.match(deletion, /^__Host-sid="";/);
    assert.match(deletion, /Secure/);
  });

  test('a record deleted by a concurrent request: SessionInterrupted, nothing re-created', async () => {
    const { manager, login, store } = setup();
    const cookie = await login({ a: 1 });
    const slow = manager.open(cookie);
    await slow.set('b', 2);
    const logout = manager.open(cookie);
    await logout.flush();
    await manager.commit(logout, 200);
    await assert.rejects(async () => manager.commit(slow, 200), SessionInterrupted);
    assert.equal(store.size, 0);
  });

  test('the data reaches the store exactly as the view left it', async () => {
    const { manager, store } = setup();
    const session = manager.open(null);
    const data = { name: 'Zoë', cjk: '游客', emoji: '😀', nested: { list: [1, 2.5, null, true] } };
    await session.update(data);
    await manager.commit(session, 200);
    assert.deepEqual((await store.load(session.sessionKey ?? ''))?.data, data);
  });

  test('a parsed cookie object works like a header', async () => {
    const { manager, login } = setup();
    const cookie = await login({ a: 1 });
    const session = manager.open({ sessionid: cookie.split('=')[1] ?? '' });
    assert.equal(await session.get('a'), 1);
  });
});

describe('SessionManager options', () => {
  const store = new MemoryStore();
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no secret', { secret: undefined }, /`secret` is required/],
    ['a short secret', { secret: 'short' }, /`secret` is 5 characters long.*at least 32/],
    [
      'an empty secret even when short ones are allowed',
      { secret: '', allowShortSecret: true },
      /`secret`/,
    ],
    ['no store', { store: undefined }, /`store` is required/],
    ['a bad cookie name', { cookieName: 'my session' }, /`cookieName`/],
    ['a zero cookie age', { cookieAge: 0 }, /`cookieAge`/],
    ['a relative path', { cookiePath: 'app' }, /`cookiePath`/],
    ['an unknown SameSite', { cookieSameSite: 'sometimes' }, /`cookieSameSite`/],
    [
      'a __Secure- name without Secure',
      { cookieName: '__Secure-sid' },
      /`cookieSecure` must be true/,
    ],
    [
      'a __Host- name with a domain',
      { cookieName: '__Host-sid', cookieSecure: true, cookieDomain: 'example.com' },
      /`cookieDomain`/,
    ],
    ['an empty fallback secret', { fallbackSecrets: [''] }, /`fallbackSecrets\[0\]`/],
    [
      'a fallback secret under 32 characters',
      { fallbackSecrets: [SECRET, 'short-old-secret'] },
      /`fallbackSecrets\[1\]` is 16 characters long.*allowShortSecret/,
    ],
    [
      'a lower-case __host- name with a path',
      { cookieName: '__host-sid', cookieSecure: true, cookiePath: '/app' },
      /`cookieDomain`/,
    ],
  ];
  for (const [name, options, message] of cases) {
    test(`${name} fails at construction, naming the option`, () => {
      assert.throws(
        () =>
          new SessionManager({ store, secret: SECRET, ...options } as unknown as SessionOptions),
        (error: Error) => error instanceof ImproperlyConfigured && message.test(error.message),
      );
    });
  }

  test("Django's defaults", () => {
    const { options } = new SessionManager({ store, secret: SECRET });
    assert.equal(options.cookieName, 'sessionid');
    assert.equal(options.cookieAge, 1_209_600);
    assert.equal(options.cookieDomain, undefined);
    assert.equal(options.cookiePath, '/');
    assert.equal(options.cookieSecure, false);
    assert.equal(options.cookieHttpOnly, true);
    assert.equal(options.cookieSameSite, 'Lax');
    assert.equal(options.expireAtBrowserClose, false);
    assert.equal(options.saveEveryRequest, false);
  });

  test('a short secret is accepted with allowShortSecret, for existing Django deployments', () => {
    assert.doesNotThrow(
      () => new SessionManager({ store, secret: 'interop-secret', allowShortSecret: true }),
    );
    assert.doesNotThrow(
      () =>
        new SessionManager({
          store,
          secret: SECRET,
          fallbackSecrets: ['django-old-key'],
          allowShortSecret: true,
        }),
    );
  });

  test('fail closed and no Cache-Control by default', () => {
    const { options } = new SessionManager({ store, secret: SECRET });
    assert.equal(options.failOpen, false);
    assert.equal(options.cacheControlPrivate, false);
    assert.equal(options.storeTimeout, 5);
  });
});

describe("concurrent requests on one session: each request's changes are merged", () => {
  test('a request that only reads never writes back, even after another request wrote', async () => {
    const { manager, store, login } = setup();
    const cookie = await login({ cart: [] });
    let saves = 0;
    const save = store.save.bind(store);
    store.save = (record) => {
      saves++;
      return save(record);
    };
    const update = store.update.bind(store);
    store.update = (sessionKey, merge) => {
      saves++;
      return update(sessionKey, merge);
    };
    const reader = manager.open(cookie);
    assert.deepEqual(await reader.get('cart'), []);
    const writer = manager.open(cookie);
    await writer.set('cart', ['book']);
    await manager.commit(writer, 200);
    await manager.commit(reader, 200);
    assert.equal(saves, 1);
    assert.deepEqual((await store.load(cookie.slice('sessionid='.length)))?.data, {
      cart: ['book'],
    });
  });

  test('two writers of different keys both keep their change', async () => {
    const { manager, store, login } = setup();
    const cookie = await login({ a: 0, b: 0, gone: 0 });
    const first = manager.open(cookie);
    const second = manager.open(cookie);
    await first.get('a');
    await second.get('a');
    await first.set('a', 1);
    await second.set('b', 2);
    await second.delete('gone');
    await manager.commit(first, 200);
    await manager.commit(second, 200);
    assert.deepEqual((await store.load(cookie.slice('sessionid='.length)))?.data, { a: 1, b: 2 });
    // The second request goes on with what is stored now, the first one's change included.
    assert.equal(await second.get('a'), 1);
  });

  test('two writers of one key: the later value wins', async () => {
    const { manager, store, login } = setup();
    const cookie = await login({ x: 'start' });
    const first = manager.open(cookie);
    const second = manager.open(cookie);
    await first.set('x', 'first');
    await second.set('x', 'second');
    await manager.commit(second, 200);
    await manager.commit(first, 200);
    assert.deepEqual((await store.load(cookie.slice('sessionid='.length)))?.data, { x: 'first' });
  });

  test('a value changed in place is written when modified is set, without losing others', async () => {
    const { manager, store, login } = setup();
    const cookie = await login({ cart: ['book'], other: 1 });
    const first = manager.open(cookie);
    const second = manager.open(cookie);
    ((await first.get('cart')) as string[]).push('pen');
    first.modified = true;
    await second.set('other', 2);
    await manager.commit(second, 200);
    await manager.commit(first, 200);
    assert.deepEqual((await store.load(cookie.slice('sessionid='.length)))?.data, {
      cart: ['book', 'pen'],
      // Django's idiom marks the whole session changed: its values are written over the others'.
      other: 1,
    });
  });

  test('clear() replaces the stored data whole', async () => {
    const { manager, store, login } = setup();
    const cookie = await login({ a: 1 });
    const other = manager.open(cookie);
    await other.set('b', 2);
    await manager.commit(other, 200);
    const clearing = manager.open(cookie);
    await clearing.clear();
    await clearing.set('c', 3);
    await manager.commit(clearing, 200);
    assert.deepEqual((await store.load(cookie.slice('sessionid='.length)))?.data, { c: 3 });
  });

  test('a store without update falls back to whole-session saves: the last one wins', async () => {
    const clock = testClock();
    const memory = new MemoryStore({ clock });
    const store: SessionStore = {
      load: (key) => memory.load(key),
      create: (record) => memory.create(record),
      save: (record) => memory.save(record),
      delete: (key) => memory.delete(key),
      exists: (key) => memory.exists(key),
      clearExpired: () => memory.clearExpired(),
      attach: (context) => memory.attach(context),
    };
    const manager = new SessionManager({ store, secret: SECRET, clock });
    const session = manager.open(null);
    await session.update({ a: 0, b: 0 });
    await manager.commit(session, 200);
    const cookie = `sessionid=${session.sessionKey}`;
    const first = manager.open(cookie);
    const second = manager.open(cookie);
    await first.set('a', 1);
    await second.set('b', 2);
    await manager.commit(first, 200);
    await manager.commit(second, 200);
    assert.deepEqual((await memory.load(session.sessionKey ?? ''))?.data, { a: 0, b: 2 });
  });

  test('a logout beats a slow write: SessionInterrupted, nothing resurrected', async () => {
    const { manager, store, login } = setup();
    const cookie = await login({ user: 'ann' });
    const slow = manager.open(cookie);
    await slow.set('late', true);
    const logout = manager.open(cookie);
    await logout.flush();
    await manager.commit(logout, 200);
    await assert.rejects(async () => manager.commit(slow, 200), SessionInterrupted);
    assert.equal(store.size, 0);
  });
});
