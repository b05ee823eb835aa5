import assert from 'node:assert/strict';
import { createDecipheriv, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { CookieTooLarge, StoreError } from '../../src/core/errors.js';
import { EXPIRY_KEY, type Expiry } from '../../src/core/expiry.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionData, StoreContext } from '../../src/core/session-store.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import {
  ENCRYPTED_COOKIE_PURPOSE,
  ENCRYPTED_COOKIE_VERSION,
  EncryptedCookieStore,
  type EncryptedCookieStoreOptions,
} from '../../src/stores/encrypted-cookie-store.js';
import { MemoryRevocationStore } from '../../src/stores/memory-revocation-store.js';
import { RedisRevocationStore } from '../../src/stores/redis-revocation-store.js';
import type { RevocationStore } from '../../src/stores/revocation-store.js';
import { COOKIE_SIZE_LIMIT } from '../../src/stores/signed-cookie-store.js';
import { TEST_SECRET } from '../support/attach.js';
import { prng } from '../support/prng.js';
import { needService } from '../support/services.js';
import { testClock } from '../support/test-clock.js';

const NOW = 1_700_000_000;
const OLD_SECRET = 'the-secret-before-the-rotation-0123456789';
const MARKER = 'a-marker-the-browser-must-not-read';

interface Setup {
  readonly cookieAge?: number;
  readonly cookieName?: string;
  readonly secret?: string;
  readonly fallbackSecrets?: string[];
  readonly store?: EncryptedCookieStoreOptions;
  /** Shares a clock between managers (a rotation, a restart with other settings). */
  readonly clock?: ReturnType<typeof testClock>;
}

/** An EncryptedCookieStore that keeps the context its manager gave it. */
class ObservedStore extends EncryptedCookieStore {
  context: StoreContext | null = null;
  override attach(context: StoreContext): void {
    super.attach(context);
    this.context = context;
  }
}

/** A manager over an EncryptedCookieStore on a test clock, with helpers for one request each. */
function setup(options: Setup = {}) {
  const clock = options.clock ?? testClock();
  const warnings: string[] = [];
  const store = new ObservedStore(options.store);
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
  /** A request that runs `handle` on the session of `value`; returns the Set-Cookie it sends. */
  const request = async (
    value: string,
    handle: (session: ReturnType<typeof manager.open>) => Promise<unknown>,
  ) => {
    const session = manager.open({ [cookieName]: value });
    await handle(session);
    const { setCookie } = await manager.commit(session, 200);
    return { setCookie, value: session.sessionKey };
  };
  return { clock, warnings, store, manager, write, read, request };
}

/** Flips one bit of byte `index` of a sealed value and writes it back as base64url. */
function flipByte(value: string, index: number): string {
  const bytes = Buffer.from(value, 'base64url');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}

describe('EncryptedCookieStore', () => {
  test('round-trips data through a SessionManager with nothing kept on the server', async () => {
    const { write, read, request, store, warnings } = setup();
    const data = { name: 'Zoë', cart: [1, 2.5, 'three', null], nested: { ok: true }, emoji: '😀' };
    const value = await write(data);
    assert.ok(store.isValidKey(value), value);
    assert.deepEqual(await read(value), data);
    const reread = await request(value, (session) => session.get('name'));
    assert.equal(reread.setCookie, null, 'an unmodified session is not sent again');
    assert.deepEqual(warnings, []);
  });

  test('the browser cannot read it: no plaintext in the value, and a new IV for every seal', async () => {
    const { write } = setup();
    const first = await write({ secret: MARKER });
    const second = await write({ secret: MARKER });
    assert.notEqual(first, second);
    for (const value of [first, second]) {
      const bytes = Buffer.from(value, 'base64url');
      for (const needle of [MARKER, 'secret', 'issuedAt', '"data"']) {
        assert.equal(bytes.includes(needle), false, needle);
        assert.equal(bytes.includes(Buffer.from(needle, 'utf16le')), false, needle);
        assert.equal(value.includes(needle), false, needle);
      }
    }
  });

  test('the documented format: version, IV, AES-256-GCM over the JSON payload, tag; the cookie name as AAD', async () => {
    const { write, store, clock } = setup();
    const value = await write({ user: 'ann' }, 300);
    const bytes = Buffer.from(value, 'base64url');
    assert.equal(bytes[0], ENCRYPTED_COOKIE_VERSION);
    const [key] = store.context?.deriveKeys(ENCRYPTED_COOKIE_PURPOSE) ?? [];
    assert.ok(key);
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 13), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.concat([Buffer.of(1), Buffer.from('sessionid')]));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plaintext = Buffer.concat([
      decipher.update(bytes.subarray(13, bytes.length - 16)),
      decipher.final(),
    ]).toString();
    const now = clock().getTime();
    assert.deepEqual(JSON.parse(plaintext), {
      data: { user: 'ann', [EXPIRY_KEY]: 300 },
      issuedAt: now,
      expiresAt: now + 300_000,
    });
    assert.equal(bytes.length, 1 + 12 + Buffer.byteLength(plaintext) + 16);
  });

  test('changing any single byte gives an empty session and exactly one security warning', async () => {
    const { write, read, warnings } = setup();
    const value = await write({ admin: false });
    const length = Buffer.from(value, 'base64url').length;
    for (let index = 0; index < length; index++) {
      warnings.length = 0;
      const forged = flipByte(value, index);
      assert.deepEqual(await read(forged), {}, `byte ${index}`);
      assert.equal(warnings.length, 1, `byte ${index}: ${warnings.join(' | ')}`);
      assert.match(warnings[0] ?? '', /^Session cookie refused: /);
    }
  });

  test('changing any single character, truncating or extending the value: the same', async () => {
    const { write, read, warnings } = setup();
    const value = await write({ admin: false });
    const forgeries = [
      value.slice(0, -1),
      value.slice(0, -16),
      `${value}A`,
      `${value}AAAA`,
      ...Array.from(value, (char, index) => {
        const other = char === 'A' ? 'B' : 'A';
        return value.slice(0, index) + other + value.slice(index + 1);
      }),
    ];
    for (const forged of forgeries) {
      warnings.length = 0;
      assert.deepEqual(await read(forged), {}, forged);
      assert.equal(warnings.length, 1, `${forged}: ${warnings.join(' | ')}`);
    }
  });

  test('values that are not base64url, or too short, are refused before any decryption', async () => {
    const { read, store, warnings } = setup();
    for (const bogus of ['not a sealed value', 'abc', 'A'.repeat(39), `${'A'.repeat(40)}=`, '']) {
      assert.equal(store.isValidKey(bogus), false, bogus);
      warnings.length = 0;
      assert.deepEqual(await read(bogus), {});
      assert.ok(warnings.length <= 1, bogus);
    }
    // Called directly (not through the manager's isValidKey), load refuses them too.
    warnings.length = 0;
    assert.equal(await store.load('not a sealed value'), null);
    assert.deepEqual(warnings, ['Session cookie refused: not a sealed value']);
  });

  test('a value of one cookie name does not open under another (the name is the AAD)', async () => {
    const clock = testClock();
    const session = setup({ clock, cookieName: 'sessionid' });
    const other = setup({ clock, cookieName: 'othersession' });
    const value = await session.write({ role: 'user' });
    assert.deepEqual(await other.read(value), {});
    assert.deepEqual(other.warnings, [
      'Session cookie refused: it does not decrypt with the secret or a fallback secret',
    ]);
    assert.deepEqual(await session.read(value), { role: 'user' });
  });

  test('another secret does not open it', async () => {
    const value = await setup({ secret: OLD_SECRET }).write({ a: 1 });
    const { read, warnings } = setup();
    assert.deepEqual(await read(value), {});
    assert.equal(warnings.length, 1);
  });

  test('rotation: a value sealed with an old secret opens through fallbackSecrets and is re-sealed on a read-only request', async () => {
    const clock = testClock();
    const old = await setup({ clock, secret: OLD_SECRET }).write({ user: 'alice' });
    const rotated = setup({ clock, secret: TEST_SECRET, fallbackSecrets: [OLD_SECRET] });
    assert.deepEqual(await rotated.read(old), { user: 'alice' });

    const { setCookie, value } = await rotated.request(old, (session) => session.get('user'));
    assert.ok(setCookie, 'Set-Cookie sent although the handler only read');
    assert.ok(value && value !== old);
    assert.ok(setCookie.startsWith(`sessionid=${value};`));
    assert.deepEqual(await setup({ clock, secret: TEST_SECRET }).read(value), { user: 'alice' });
    assert.deepEqual(await setup({ clock, secret: OLD_SECRET }).read(value), {});
    assert.deepEqual(await setup({ clock, secret: TEST_SECRET }).read(old), {});

    const settled = await rotated.request(value, (session) => session.get('user'));
    assert.equal(settled.setCookie, null, 'a value of the current secret is not sent again');
    assert.deepEqual(rotated.warnings, []);
  });

  test('delete does nothing and exists is false; logging out deletes the cookie', async () => {
    const { store, write, read, manager } = setup();
    const value = await write({ a: 1 });
    await store.delete(value);
    assert.equal(await store.exists(value), false);
    assert.deepEqual(await read(value), { a: 1 });
    const session = manager.open({ sessionid: value });
    await session.flush();
    assert.match((await manager.commit(session, 200)).setCookie ?? '', /^sessionid="";/);
    assert.equal(store.selfExpiring, true);
    assert.equal(await store.clearExpired(), 0);
  });

  test('used without a SessionManager, or misconfigured, it says what to do', async () => {
    const store = new EncryptedCookieStore();
    await assert.rejects(store.load('A'.repeat(60)), ImproperlyConfigured);
    await assert.rejects(
      store.save({ sessionKey: '', data: {}, expiresAt: new Date() }),
      ImproperlyConfigured,
    );
    await assert.rejects(store.revokeUser('42'), /needs the `revocation` option/);
    assert.throws(
      () => new EncryptedCookieStore({ revocation: { store: {} as RevocationStore } }),
      /`revocation.store` must be a RevocationStore/,
    );
  });
});

describe('EncryptedCookieStore expiry, from inside the sealed payload', () => {
  test('without setExpiry: cookieAge from the issue time; gone at exactly that instant', async () => {
    const { clock, write, read, store } = setup({ cookieAge: 600 });
    const value = await write({ a: 1 });
    assert.equal((await store.load(value))?.expiresAt.getTime(), (NOW + 600) * 1000);
    clock.advance(599.999);
    assert.deepEqual(await read(value), { a: 1 });
    clock.advance(0.001);
    assert.deepEqual(await read(value), {});
  });

  test('setExpiry(seconds) counts from the issue time', async () => {
    const { clock, write, read, store } = setup();
    const value = await write({ a: 1 }, 300);
    clock.advance(299);
    assert.deepEqual(await read(value), { a: 1, [EXPIRY_KEY]: 300 });
    assert.equal((await store.load(value))?.expiresAt.getTime(), (NOW + 300) * 1000);
    clock.advance(1);
    assert.deepEqual(await read(value), {});
  });

  test('saving seals again, so a number of seconds is an inactivity timeout', async () => {
    const { clock, write, read, request } = setup();
    const first = await write({ a: 1 }, 300);
    clock.advance(200);
    const { value: second } = await request(first, (session) => session.set('b', 2));
    assert.ok(second && second !== first);
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

  test("the manager's current cookieAge caps every expiry, even one sealed under a longer age", async () => {
    const clock = testClock();
    const long = setup({ clock, cookieAge: 86_400 });
    const seconds = await long.write({ a: 1 }, 3600);
    const instant = await long.write({ b: 1 }, new Date((NOW + 7200) * 1000));
    const none = await long.write({ c: 1 });
    const short = setup({ clock, cookieAge: 600 });
    assert.equal((await short.store.load(none))?.expiresAt.getTime(), (NOW + 600) * 1000);
    clock.advance(599);
    assert.equal((await short.read(seconds)).a, 1);
    assert.equal((await short.read(instant)).b, 1);
    assert.equal((await short.read(none)).c, 1);
    clock.advance(1);
    assert.deepEqual(await short.read(seconds), {});
    assert.deepEqual(await short.read(instant), {});
    assert.deepEqual(await short.read(none), {});
    assert.equal((await long.read(none)).c, 1, 'the sealed expiry itself is still later');
    assert.deepEqual(short.warnings, [], 'an expired cookie is not a security event');
  });

  test('setExpiry(0) (until the browser closes) leaves cookieAge; a negative number ends it now', async () => {
    const { clock, write, read } = setup({ cookieAge: 600 });
    const browser = await write({ a: 1 }, 0);
    const past = await write({ b: 1 }, -1);
    assert.deepEqual(await read(past), {});
    clock.advance(599);
    assert.equal((await read(browser)).a, 1);
    clock.advance(1);
    assert.deepEqual(await read(browser), {});
  });
});

describe(`EncryptedCookieStore and the ${COOKIE_SIZE_LIMIT}-byte cookie limit`, () => {
  const random = prng(7);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const noise = Array.from({ length: 4000 }, () => alphabet[Math.floor(random() * 62)]).join('');

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
        assert.equal(error.limit, COOKIE_SIZE_LIMIT);
        assert.ok(error.bytes > COOKIE_SIZE_LIMIT);
        assert.match(error.message, /Store less in the session/);
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

/** A RevocationStore that counts the calls it forwards. */
class CountingRevocations implements RevocationStore {
  lookups = 0;
  constructor(readonly inner: RevocationStore) {}
  generation(userId: string): Promise<number> {
    this.lookups++;
    return this.inner.generation(userId);
  }
  revoke(userId: string): Promise<number> {
    return this.inner.revoke(userId);
  }
}

/** The revocation behaviour, over a fresh RevocationStore from `make` for each test. */
function revocationTests(name: string, make: () => RevocationStore): void {
  describe(`EncryptedCookieStore revocation over ${name}`, () => {
    const setupRevocable = () => {
      const revocations = new CountingRevocations(make());
      const context = setup({ store: { revocation: { store: revocations } } });
      return { ...context, revocations };
    };
    const ann = { _auth_user_id: '42', name: 'ann' };

    test('revokeUser refuses every cookie of that user, silently, and leaves others alone', async () => {
      const { store, write, read, manager, warnings } = setupRevocable();
      const laptop = await write(ann);
      const phone = await write(ann);
      const bob = await write({ _auth_user_id: '7' });
      const anonymous = await write({ theme: 'dark' });
      assert.equal(await store.revokeUser('42'), 1);
      assert.deepEqual(await read(laptop), {});
      assert.deepEqual(await read(phone), {});
      assert.deepEqual(await read(bob), { _auth_user_id: '7' });
      assert.deepEqual(await read(anonymous), { theme: 'dark' });
      assert.deepEqual(warnings, []);
      // The revoked browser's cookie is deleted on its next request that reads the session.
      const session = manager.open({ sessionid: laptop });
      await session.get('name');
      assert.match((await manager.commit(session, 200)).setCookie ?? '', /^sessionid="";/);
    });

    test('a login after the revocation gets the new generation, until the next revocation', async () => {
      const { store, write, read } = setupRevocable();
      await store.revokeUser('42');
      const fresh = await write(ann);
      assert.deepEqual(await read(fresh), ann);
      await store.revokeUser(42);
      assert.deepEqual(await read(fresh), {}, 'a number names the same user as its string');
    });

    test('a numeric _auth_user_id is the same user', async () => {
      const { store, write, read } = setupRevocable();
      const value = await write({ _auth_user_id: 42 });
      await store.revokeUser('42');
      assert.deepEqual(await read(value), {});
    });

    test('a revocation during a request wins: the cookie that request sets is refused next', async () => {
      const { store, write, read, request } = setupRevocable();
      const value = await write(ann);
      const saved = await request(value, async (session) => {
        await session.get('name');
        await store.revokeUser('42');
        await session.set('name', 'ann again');
      });
      assert.ok(saved.setCookie && saved.value);
      assert.deepEqual(await read(saved.value), {});
      const cycled = await write(ann);
      const moved = await request(cycled, async (session) => {
        await session.get('name');
        await store.revokeUser('42');
        await session.cycleKey();
      });
      assert.ok(moved.value);
      assert.deepEqual(await read(moved.value), {}, 'cycleKey keeps the loaded generation too');
    });

    test('logging in on an anonymous session, or as another user, seals the current generation', async () => {
      const { store, write, read, request } = setupRevocable();
      await store.revokeUser('42');
      await store.revokeUser('42');
      const anonymous = await write({ cart: [1] });
      const login = await request(anonymous, async (session) => {
        await session.cycleKey();
        await session.set('_auth_user_id', '42');
      });
      assert.ok(login.value);
      assert.deepEqual(await read(login.value), { cart: [1], _auth_user_id: '42' });
      const bob = await write({ _auth_user_id: '7' });
      const switched = await request(bob, (session) => session.set('_auth_user_id', '42'));
      assert.ok(switched.value);
      assert.deepEqual(await read(switched.value), { _auth_user_id: '42' });
      await store.revokeUser('42');
      assert.deepEqual(await read(login.value), {});
      assert.deepEqual(await read(switched.value), {});
    });

    test('lookups: none for anonymous sessions, one per load of a logged-in one, none to re-save it', async () => {
      const { write, read, request, revocations } = setupRevocable();
      const anonymous = await write({ theme: 'dark' });
      await read(anonymous);
      assert.equal(revocations.lookups, 0);
      const value = await write(ann);
      assert.equal(revocations.lookups, 1, 'the login');
      await request(value, (session) => session.set('name', 'ann b'));
      assert.equal(revocations.lookups, 2, 'the load only');
    });

    test('a cookie sealed before revocation was configured counts as generation 0', async () => {
      const clock = testClock();
      const before = await setup({ clock }).write(ann);
      const revocations = make();
      const { read, store } = setup({ clock, store: { revocation: { store: revocations } } });
      assert.deepEqual(await read(before), ann);
      await store.revokeUser('42');
      assert.deepEqual(await read(before), {});
    });

    test('a custom userIdOf decides whose session it is', async () => {
      const revocations = make();
      const userIdOf = (data: SessionData) => (typeof data.uid === 'string' ? data.uid : null);
      const { write, read, store } = setup({
        store: { revocation: { store: revocations, userIdOf } },
      });
      const value = await write({ uid: 'u-1', _auth_user_id: '42' });
      await store.revokeUser('42');
      assert.deepEqual(await read(value), { uid: 'u-1', _auth_user_id: '42' });
      await store.revokeUser('u-1');
      assert.deepEqual(await read(value), {});
    });
  });
}

revocationTests('MemoryRevocationStore', () => new MemoryRevocationStore());

const REDIS_URL = process.env.KEEPSTATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every key this run writes starts with it, so parallel runs never collide. */
const PREFIX = `keepstate-test-revocation-${randomUUID()}`;
const BOUNDED = { connectTimeout: 2_000, commandTimeout: 2_000, maxRetriesPerRequest: 1 };

const skip = await needService(
  `Redis at ${REDIS_URL}`,
  async () => {
    const probe = new Redis(REDIS_URL, { ...BOUNDED, retryStrategy: () => null });
    try {
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  },
  'start one (apt-get install -y redis-server; redis-server --port 6379) or set KEEPSTATE_TEST_REDIS_URL',
);

describe('RedisRevocationStore on a real Redis', { skip }, () => {
  let redis: Redis;
  let run = 0;

  before(() => {
    redis = new Redis(REDIS_URL, BOUNDED);
  });

  after(async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  // Each test gets its own prefix, so their counters start at 0.
  revocationTests('RedisRevocationStore', () => {
    run++;
    return new RedisRevocationStore(redis, { prefix: `${PREFIX}:${run}` });
  });

  test('one integer key per revoked user, <prefix>:<user id>, bumped with INCR', async () => {
    const revocations = new RedisRevocationStore(redis, { prefix: `${PREFIX}:layout` });
    assert.equal(await revocations.generation('42'), 0);
    assert.equal(await redis.exists(`${PREFIX}:layout:42`), 0, 'reading creates nothing');
    const bumps = await Promise.all(Array.from({ length: 20 }, () => revocations.revoke('42')));
    assert.deepEqual(
      bumps.sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, index) => index + 1),
      'concurrent revocations all count',
    );
    assert.equal(await redis.get(`${PREFIX}:layout:42`), '20');
    assert.equal(await redis.ttl(`${PREFIX}:layout:42`), -1, 'no TTL');
    assert.equal(await revocations.generation('42'), 20);
  });

  test('a key holding something else is a StoreError, not a guess', async () => {
    const revocations = new RedisRevocationStore(redis, { prefix: `${PREFIX}:junk` });
    await redis.set(`${PREFIX}:junk:42`, 'not a number');
    await assert.rejects(revocations.generation('42'), StoreError);
  });

  test('an empty prefix is refused at construction', () => {
    assert.throws(() => new RedisRevocationStore(redis, { prefix: '' }), ImproperlyConfigured);
  });
});

describe('RedisRevocationStore when Redis is down', () => {
  function closedPort(): Promise<number> {
    return new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
  }

  test('loading a logged-in session fails with StoreError rather than let a revoked cookie through', async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port: await closedPort(),
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      const clock = testClock();
      const value = await setup({ clock }).write({ _auth_user_id: '42' });
      const revocations = new RedisRevocationStore(client, { prefix: PREFIX });
      const { manager } = setup({ clock, store: { revocation: { store: revocations } } });
      await assert.rejects(manager.open({ sessionid: value }).get('_auth_user_id'), (error) => {
        assert.ok(error instanceof StoreError);
        assert.match(error.message, /^keepstate: RedisRevocationStore could not run GET: /);
        assert.ok(error.cause instanceof Error);
        return true;
      });
      await assert.rejects(revocations.revoke('42'), StoreError);
    } finally {
      client.disconnect();
    }
  });
});
