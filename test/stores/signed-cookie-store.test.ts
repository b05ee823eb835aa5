import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CookieTooLarge } from '../../src/core/errors.js';
import { EXPIRY_KEY, type Expiry } from '../../src/core/expiry.js';
import { SessionCodec } from '../../src/core/session-codec.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionData } from '../../src/core/session-store.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import {
  COOKIE_SIZE_LIMIT,
  SIGNED_COOKIE_SALT,
  SignedCookieStore,
} from '../../src/stores/signed-cookie-store.js';
import { TEST_SECRET } from '../support/attach.js';
import { prng } from '../support/prng.js';
import { testClock } from '../support/test-clock.js';

const NOW = 1_700_000_000;
const OLD_SECRET = 'the-secret-before-the-rotation-0123456789';
const silent = { warn() {} };

interface Setup {
  readonly cookieAge?: number;
  readonly cookieName?: string;
  readonly secret?: string;
  readonly fallbackSecrets?: string[];
}

/** A manager over a SignedCookieStore on a test clock, with helpers for one request each. */
function setup(options: Setup = {}) {
  const clock = testClock();
  const warnings: string[] = [];
  const store = new SignedCookieStore();
  const cookieName = options.cookieName ?? 'sessionid';
  const manager = new SessionManager({
    store,
    secret: options.secret ?? TEST_SECRET,
    clock,
    logger: { warn: (message) => warnings.push(message) },
    cookieName,
    ...(options.cookieAge !== undefined && { cookieAge: options.cookieAge }),
    ...(options.fallbackSecrets !== undefined && { fallbackSecrets: options.fallbackSecrets }),
  });
  /** A request that stores `data` (and an expiry); returns the cookie value it sets. */
  const write = async (data: SessionData, expiry?: Expiry): Promise<string> => {
    const session = manager.open(null);
    await session.update(data);
    if (expiry !== undefined) await session.setExpiry(expiry);
    const { setCookie } = await manager.commit(session, 200);
    assert.ok(setCookie);
    return session.sessionKey ?? '';
  };
  /** A request that reads the session of cookie value `value`. */
  const read = async (value: string): Promise<SessionData> =>
    Object.fromEntries(await manager.open({ [cookieName]: value }).items());
  return { clock, warnings, store, manager, write, read };
}

describe('SignedCookieStore expiry (beyond Django: setExpiry is enforced)', () => {
  test('setExpiry(seconds) counts from the signing time; gone at exactly that instant', async () => {
    const { clock, write, read, store } = setup();
    const value = await write({ a: 1 }, 300);
    clock.advance(299);
    assert.deepEqual(await read(value), { a: 1, [EXPIRY_KEY]: 300 });
    assert.equal((await store.load(value))?.expiresAt.getTime(), (NOW + 300) * 1000);
    clock.advance(1);
    assert.deepEqual(await read(value), {});
  });

  test('the signing time is the whole second in the cookie, as Django signs it', async () => {
    const { clock, write, read } = setup();
    clock.set(NOW + 0.9);
    const value = await write({ a: 1 }, 300);
    clock.set(NOW + 299.9);
    assert.equal((await read(value)).a, 1);
    clock.set(NOW + 300);
    assert.deepEqual(await read(value), {});
  });

  test('saving signs again, so a number of seconds is an inactivity timeout', async () => {
    const { clock, manager, write, read } = setup();
    const first = await write({ a: 1 }, 300);
    clock.advance(200);
    const session = manager.open({ sessionid: first });
    await session.set('b', 2);
    await manager.commit(session, 200);
    const second = session.sessionKey ?? '';
    assert.notEqual(second, first);
    clock.advance(100);
    assert.deepEqual(await read(first), {});
    assert.equal((await read(second)).b, 2);
    clock.advance(199);
    assert.equal((await read(second)).b, 2);
    clock.advance(1);
    assert.deepEqual(await read(second), {});
  });

  test('setExpiry(Date) is an absolute instant', async () => {
    const { clock, write, read } = setup();
    const value = await write({ a: 1 }, new Date((NOW + 300) * 1000));
    clock.advance(299);
    assert.equal((await read(value)).a, 1);
    clock.advance(1);
    assert.deepEqual(await read(value), {});
  });

  test('cookieAge caps every expiry, with Django’s boundary (an age equal to it passes)', async () => {
    const { clock, write, read, store } = setup({ cookieAge: 600 });
    const seconds = await write({ a: 1 }, 3600);
    const instant = await write({ b: 1 }, new Date((NOW + 86_400) * 1000));
    const none = await write({ c: 1 });
    assert.equal((await store.load(seconds))?.expiresAt.getTime(), (NOW + 600) * 1000);
    clock.advance(600);
    assert.equal((await read(seconds)).a, 1);
    assert.equal((await read(instant)).b, 1);
    assert.equal((await read(none)).c, 1);
    clock.advance(1);
    assert.deepEqual(await read(seconds), {});
    assert.deepEqual(await read(instant), {});
    assert.deepEqual(await read(none), {});
  });

  test('setExpiry(0) (until the browser closes) leaves cookieAge; a negative number ends it now', async () => {
    const { clock, write, read } = setup({ cookieAge: 600 });
    const browser = await write({ a: 1 }, 0);
    const past = await write({ b: 1 }, -1);
    assert.deepEqual(await read(past), {});
    clock.advance(600);
    assert.equal((await read(browser)).a, 1);
    clock.advance(1);
    assert.deepEqual(await read(browser), {});
  });
});

describe('SignedCookieStore', () => {
  test('reads a cookie signed with a fallback secret, and signs again with the new one', async () => {
    const before = setup({ secret: OLD_SECRET });
    const old = await before.write({ user: 'alice' });
    const after = setup({ secret: TEST_SECRET, fallbackSecrets: [OLD_SECRET] });
    assert.deepEqual(await after.read(old), { user: 'alice' });

    const session = after.manager.open({ sessionid: old });
    await session.set('seen', true);
    await after.manager.commit(session, 200);
    const renewed = session.sessionKey ?? '';
    assert.deepEqual(await setup({ secret: TEST_SECRET }).read(renewed), {
      user: 'alice',
      seen: true,
    });
    assert.deepEqual(await setup({ secret: OLD_SECRET }).read(renewed), {});
    assert.deepEqual(await setup({ secret: TEST_SECRET }).read(old), {});
  });

  test('a tampered cookie is an empty session and a security warning, never an error', async () => {
    const { write, read, warnings } = setup();
    const value = await write({ admin: false });
    const [payload = '', timestamp = '', signature = ''] = value.split(':');
    const flip = (text: string) => (text.startsWith('A') ? 'B' : 'A') + text.slice(1);
    for (const forged of [
      `${flip(payload)}:${timestamp}:${signature}`,
      `${payload}:${flip(timestamp)}:${signature}`,
      `${payload}:${timestamp}:${flip(signature)}`,
      `${payload}:${signature}`,
    ]) {
      warnings.length = 0;
      assert.deepEqual(await read(forged), {}, forged);
      assert.deepEqual(warnings, ['Session data corrupted'], forged);
    }
    warnings.length = 0;
    assert.deepEqual(await read('not a "signed" value'), {});
    assert.match(warnings[0] ?? '', /Session cookie refused/);
  });

  describe(`the ${COOKIE_SIZE_LIMIT}-byte cookie limit`, () => {
    const random = prng(42);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    // Random letters barely compress, so the cookie grows with the data.
    const noise = Array.from({ length: 6000 }, () => alphabet[Math.floor(random() * 62)]).join('');

    /** The longest prefix of `noise` whose session still fits, found by bisection. */
    async function largestFitting(): Promise<number> {
      const { store, manager, clock } = setup();
      let fits = 0;
      let fails = noise.length;
      while (fails - fits > 1) {
        const middle = Math.floor((fits + fails) / 2);
        const record = {
          sessionKey: '',
          data: { blob: noise.slice(0, middle) },
          expiresAt: new Date(clock().getTime() + manager.options.cookieAge * 1000),
        };
        try {
          await store.save(record);
          fits = middle;
        } catch (error) {
          assert.ok(error instanceof CookieTooLarge);
          fails = middle;
        }
      }
      return fits;
    }

    test('the largest session that fits makes a Set-Cookie of at most 4096 bytes', async () => {
      const size = await largestFitting();
      assert.ok(size > 2000, `${size} characters fit`);
      const { manager } = setup();
      const session = manager.open(null);
      await session.set('blob', noise.slice(0, size));
      const { setCookie } = await manager.commit(session, 200);
      assert.ok(setCookie);
      assert.ok(Buffer.byteLength(setCookie) <= COOKIE_SIZE_LIMIT, `${setCookie.length} bytes`);
    });

    test('one character more fails in save, before any Set-Cookie, naming size, limit and way out', async () => {
      const size = await largestFitting();
      const { manager } = setup();
      const session = manager.open(null);
      await session.set('blob', noise.slice(0, size + 1));
      await assert.rejects(
        async () => manager.commit(session, 200),
        (error: unknown) => {
          assert.ok(error instanceof CookieTooLarge);
          assert.equal(error.name, 'CookieTooLarge');
          assert.equal(error.limit, COOKIE_SIZE_LIMIT);
          assert.ok(error.bytes > COOKIE_SIZE_LIMIT);
          assert.match(error.message, new RegExp(`${error.bytes} bytes`));
          assert.match(error.message, /4096 bytes/);
          assert.match(error.message, /Store less in the session/);
          assert.match(error.message, /server-side store/);
          return true;
        },
      );
    });

    test('the cookie name counts too', async () => {
      const size = await largestFitting();
      const { manager } = setup({ cookieName: `session_${'x'.repeat(100)}` });
      const session = manager.open(null);
      await session.set('blob', noise.slice(0, size));
      await assert.rejects(async () => manager.commit(session, 200), CookieTooLarge);
    });
  });

  test('delete does nothing and exists is false: the cookie cannot be revoked, as in Django', async () => {
    const { store, write, read, manager } = setup();
    const value = await write({ a: 1 });
    await store.delete(value);
    assert.equal(await store.exists(value), false);
    assert.deepEqual(await read(value), { a: 1 });
    // Logging out empties the session, and the manager deletes this browser's cookie.
    const session = manager.open({ sessionid: value });
    await session.flush();
    assert.match((await manager.commit(session, 200)).setCookie ?? '', /^sessionid="";/);
    assert.equal(store.selfExpiring, true);
    assert.equal(await store.clearExpired(), 0);
  });

  test('the cookie is signed with the signed_cookies salt, not the db/file one', async () => {
    const { write, manager } = setup();
    const value = await write({ a: 1 });
    const codec = new SessionCodec({
      secret: TEST_SECRET,
      salt: SIGNED_COOKIE_SALT,
      logger: silent,
    });
    assert.deepEqual(codec.decode(value), { a: 1 });
    assert.equal(manager.codec.decode(value), null);
  });

  test('used without a SessionManager it says how to attach it', async () => {
    const store = new SignedCookieStore();
    await assert.rejects(store.load('eyJhIjoxfQ:1r31eq:x'), ImproperlyConfigured);
    await assert.rejects(
      store.save({ sessionKey: '', data: {}, expiresAt: new Date() }),
      ImproperlyConfigured,
    );
  });
});
