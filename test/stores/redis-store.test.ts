import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { CreateError, StoreError, UpdateError } from '../../src/core/errors.js';
import { isoformat } from '../../src/core/expiry.js';
import { encodeSessionData } from '../../src/core/session-codec.js';
import { generateSessionKey, sessionKeyHash } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { attach, TEST_SECRET } from '../support/attach.js';
import { counting, owned, record, updatedRecord } from '../support/records.js';
import { needService } from '../support/services.js';
import { storeSuite } from '../support/store-suite.js';
import { testClock } from '../support/test-clock.js';
import { vectors } from '../support/vectors.js';

const REDIS_URL = process.env.KEEPSTATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every key this run writes starts with it, so parallel runs never collide. */
const PREFIX = `keepstate-test-${randomUUID()}`;

/** What RedisStore's TSDoc tells users to set: every failure is a quick, clear error. */
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

describe('RedisStore on a standalone Redis', { skip }, () => {
  let redis: Redis;
  /** Bare keys written by tests with no prefix, deleted at the end. */
  const bareKeys: string[] = [];

  before(() => {
    redis = new Redis(REDIS_URL, BOUNDED);
  });

  after(async () => {
    const keys: string[] = [...bareKeys];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    for (const key of keys) await redis.del(key);
    redis.disconnect();
  });

  // A prefix per store: the suite's user indexes (user "u1", say) must start empty each time.
  storeSuite('RedisStore', (clock) =>
    attach(new RedisStore(redis, { prefix: `${PREFIX}:${randomUUID()}` }), clock),
  );

  test("stores Django's encoded data under prefix:key, with the TTL from the manager's clock", async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    // An age no other clock would give: the test clock stands in 2023.
    const rec = record(clock, 12_345.678, { user: 'Zoë', cart: [1, 2] });
    await store.create(rec);
    const key = `${PREFIX}:${rec.sessionKey}`;
    assert.equal(await redis.get(key), encodeSessionData(rec.data, { secret: TEST_SECRET, clock }));
    const pttl = await redis.pttl(key);
    assert.ok(pttl > 12_345_678 - 60_000 && pttl <= 12_345_678, `PTTL ${pttl}`);
  });

  test('stores the bare session key when the prefix is empty, as django-redis-sessions does by default', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis), clock);
    const rec = record(clock, 60);
    bareKeys.push(rec.sessionKey);
    await store.create(rec);
    assert.equal(
      await redis.get(rec.sessionKey),
      encodeSessionData(rec.data, { secret: TEST_SECRET, clock }),
    );
  });

  test('loads what a Django app with django-redis-sessions wrote (SETEX key age encode(data))', async () => {
    const clock = testClock();
    for (const vector of vectors('session-encode')) {
      const { data, secret_key: secret } = vector.input;
      const store = new RedisStore(redis, { prefix: PREFIX });
      new SessionManager({ store, secret, allowShortSecret: true, clock, logger: { warn() {} } });
      const sessionKey = generateSessionKey();
      await redis.setex(`${PREFIX}:${sessionKey}`, 3600, vector.output);
      const loaded = await store.load(sessionKey);
      assert.deepEqual(loaded?.data, data, vector.id);
      assert.equal(await store.exists(sessionKey), true, vector.id);
    }
  });

  test("a loaded record's expiresAt is Django's get_expiry_date()", async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock, { cookieAge: 600 });
    const now = clock().getTime();
    const plain = record(clock, 60);
    const seconds = record(clock, 300, { _session_expiry: 300 });
    const instant = record(clock, 90, { _session_expiry: isoformat(new Date(now + 90_000)) });
    for (const rec of [plain, seconds, instant]) await store.create(rec);
    assert.equal((await store.load(plain.sessionKey))?.expiresAt.getTime(), now + 600_000);
    assert.equal((await store.load(seconds.sessionKey))?.expiresAt.getTime(), now + 300_000);
    assert.equal((await store.load(instant.sessionKey))?.expiresAt.getTime(), now + 90_000);
  });

  test("an instant in _session_expiry past the manager's clock loads as null before Redis expires it", async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const expiresAt = new Date(clock().getTime() + 10_000);
    const rec = { ...record(clock, 10, { _session_expiry: isoformat(expiresAt) }), expiresAt };
    await store.create(rec);
    clock.advance(10);
    assert.equal(await store.load(rec.sessionKey), null);
  });

  test('data that does not verify loads as an empty session under the same key, as in Django', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const sessionKey = generateSessionKey();
    await redis.setex(`${PREFIX}:${sessionKey}`, 60, 'not-django-data:1r31eq:bad');
    const loaded = await store.load(sessionKey);
    assert.deepEqual(loaded?.data, {});
    assert.equal(loaded?.sessionKey, sessionKey);
  });

  test('NX: create leaves a taken key, its value and its TTL alone', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const rec = record(clock, 60);
    await store.create(rec);
    const key = `${PREFIX}:${rec.sessionKey}`;
    const before = await redis.get(key);
    await assert.rejects(
      store.create({ ...rec, data: { b: 2 }, expiresAt: new Date(9e12) }),
      CreateError,
    );
    assert.equal(await redis.get(key), before);
    assert.ok((await redis.pttl(key)) <= 60_000);
  });

  test('XX: save rewrites the value and the TTL; save of a missing key writes nothing', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const rec = record(clock, 60);
    await store.create(rec);
    await store.save({ ...record(clock, 3600, { b: 2 }), sessionKey: rec.sessionKey });
    const key = `${PREFIX}:${rec.sessionKey}`;
    assert.ok((await redis.pttl(key)) > 60_000);
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { b: 2 });
    const missing = record(clock, 60);
    await assert.rejects(store.save(missing), UpdateError);
    assert.equal(await redis.exists(`${PREFIX}:${missing.sessionKey}`), 0);
  });

  test('a record whose expiresAt has passed is not written; save deletes it', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const expired = record(clock, -10);
    assert.equal(await store.create(expired), expired.sessionKey);
    assert.equal(await redis.exists(`${PREFIX}:${expired.sessionKey}`), 0);

    const live = record(clock, 60);
    await store.create(live);
    await assert.rejects(store.create({ ...live, expiresAt: new Date(0) }), CreateError);
    await store.save({ ...live, expiresAt: clock() });
    assert.equal(await redis.exists(`${PREFIX}:${live.sessionKey}`), 0);
    await assert.rejects(store.save({ ...live, expiresAt: clock() }), UpdateError);
  });

  test('used before a SessionManager attached it: ImproperlyConfigured, nothing sent', async () => {
    const store = new RedisStore(redis, { prefix: PREFIX });
    await assert.rejects(store.load(generateSessionKey()), ImproperlyConfigured);
    await assert.rejects(store.create(record(testClock(), 60)), ImproperlyConfigured);
  });

  test("update writes Django's encoded data and the merge's TTL, with the same layout as save", async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const { sessionKey, data } = await updatedRecord(store, clock, 7_200);
    const key = `${PREFIX}:${sessionKey}`;
    assert.equal(await redis.get(key), encodeSessionData(data, { secret: TEST_SECRET, clock }));
    const pttl = await redis.pttl(key);
    assert.ok(pttl > 7_200_000 - 60_000 && pttl <= 7_200_000, `PTTL ${pttl}`);
  });

  test('update whose merge gives a passed expiresAt deletes the session', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const rec = record(clock, 60);
    await store.create(rec);
    await store.update(rec.sessionKey, (latest) => ({ ...rec, data: latest, expiresAt: clock() }));
    assert.equal(await redis.exists(`${PREFIX}:${rec.sessionKey}`), 0);
  });

  test('update merges again when another write came between its read and its write', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const rec = record(clock, 60, { a: 1 });
    await store.create(rec);
    const seen: unknown[] = [];
    let interfered: Promise<unknown> | undefined;
    await store.update(rec.sessionKey, (latest) => {
      seen.push(latest);
      // Queued on the same connection before the compare-and-set, so it lands in between.
      interfered ??= redis.set(
        `${PREFIX}:${rec.sessionKey}`,
        encodeSessionData({ ...latest, other: true }, { secret: TEST_SECRET }),
        'KEEPTTL',
      );
      return { ...rec, data: { ...latest, mine: true } };
    });
    await interfered;
    assert.deepEqual(seen, [{ a: 1 }, { a: 1, other: true }]);
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1, other: true, mine: true });
  });

  test('update gives StoreError, not a lost write, when the session changes under every attempt', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const rec = record(clock, 60);
    await store.create(rec);
    const key = `${PREFIX}:${rec.sessionKey}`;
    let merges = 0;
    await assert.rejects(
      store.update(rec.sessionKey, (latest) => {
        merges++;
        void redis.set(key, `changed-${merges}`, 'KEEPTTL');
        return { ...rec, data: { ...latest, mine: true } };
      }),
      (error: unknown) => error instanceof StoreError && /concurrent/.test(error.message),
    );
    assert.equal(merges, 50);
    assert.equal(await redis.get(key), 'changed-50');
  });

  test('update loads its script again after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis, { prefix: PREFIX }), clock);
    const rec = record(clock, 60, { a: 1 });
    await store.create(rec);
    await redis.script('FLUSH');
    await store.update(rec.sessionKey, (latest) => ({ ...rec, data: { ...latest, b: 2 } }));
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1, b: 2 });
  });

  test('an anonymous session costs one command to create or save; a user adds one (the index)', async () => {
    const clock = testClock();
    const { client, sent } = counting(redis);
    const store = attach(new RedisStore(client, { prefix: PREFIX }), clock);
    // Loads the scripts (a SCRIPT FLUSH in another test would cost one EVAL each).
    const warm = owned(clock, 60, 'u1');
    await store.create(warm);
    await store.update(warm.sessionKey, (latest) => ({ ...warm, data: latest }));
    sent.length = 0;
    const anonymous = record(clock, 60);
    await store.create(anonymous);
    await store.save(anonymous);
    assert.deepEqual(sent.splice(0), ['set', 'set']);
    await store.update(anonymous.sessionKey, (latest) => ({ ...anonymous, data: latest }));
    assert.deepEqual(sent.splice(0), ['get', 'evalsha']);
    const user = owned(clock, 60, 'u1');
    await store.create(user);
    await store.save(user);
    assert.deepEqual(sent.splice(0), ['evalsha', 'set', 'evalsha', 'set']);
  });

  test('the user index is the hash prefix:keepstate:user:<encoded user id>, living as long as its longest session', async () => {
    const clock = testClock();
    const prefix = `${PREFIX}:${randomUUID()}`;
    const store = attach(new RedisStore(redis, { prefix }), clock);
    const userId = 'name:with spaces/é*\ud800';
    const hash = `${prefix}:keepstate:user:name%3Awith%20spaces%2F%C3%A9*%uD800`;
    const short = owned(clock, 600, userId, 'Firefox');
    const long = owned(clock, 7_200, userId);
    await store.create(short);
    assert.ok((await redis.pttl(hash)) <= 600_000);
    await store.create(long);
    const pttl = await redis.pttl(hash);
    assert.ok(pttl > 7_200_000 - 60_000 && pttl <= 7_200_000, `PTTL ${pttl}`);
    await store.save({ ...short, expiresAt: new Date(clock().getTime() + 60_000) });
    assert.ok((await redis.pttl(hash)) > 7_200_000 - 60_000, 'a shorter session leaves it');
    const now = clock().getTime();
    assert.deepEqual(JSON.parse((await redis.hget(hash, short.sessionKey)) ?? ''), {
      createdAt: now,
      lastActivity: now,
      expiresAt: now + 60_000,
      userAgent: 'Firefox',
    });
    assert.deepEqual(
      (await store.listSessions(userId)).map((s) => s.keyHash).sort(),
      [short, long].map((r) => sessionKeyHash(r.sessionKey)).sort(),
    );
  });

  test('the user index of a store with no prefix is keepstate:user:<user id>', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(redis), clock);
    const userId = `user-${randomUUID()}`;
    const rec = owned(clock, 60, userId);
    bareKeys.push(rec.sessionKey, `keepstate:user:${userId}`);
    await store.create(rec);
    assert.equal(await redis.hexists(`keepstate:user:${userId}`, rec.sessionKey), 1);
  });

  test('listSessions prunes the entries of sessions deleted or now of another user', async () => {
    const clock = testClock();
    const prefix = `${PREFIX}:${randomUUID()}`;
    const store = attach(new RedisStore(redis, { prefix }), clock);
    const indexed = async (userId: string) =>
      (await redis.hkeys(`${prefix}:keepstate:user:${userId}`)).length;
    const [kept, deleted, moved] = [
      owned(clock, 600, 'u1'),
      owned(clock, 600, 'u1'),
      owned(clock, 600, 'u1'),
    ];
    for (const rec of [kept, deleted, moved]) await store.create(rec);
    await store.delete(deleted.sessionKey);
    await store.save({ ...moved, data: { [USER_SESSION_KEYS.userId]: 'u2' }, userId: 'u2' });
    assert.equal((await store.listSessions('u1')).length, 1);
    // Entries written in the last minute stay: their session's write may still be in flight.
    assert.equal(await indexed('u1'), 3);
    clock.advance(61);
    assert.equal((await store.listSessions('u1')).length, 1);
    assert.deepEqual(await redis.hkeys(`${prefix}:keepstate:user:u1`), [kept.sessionKey]);
  });

  test('deleteUserSessions leaves a session filed under the user that now belongs to another', async () => {
    const clock = testClock();
    const prefix = `${PREFIX}:${randomUUID()}`;
    const store = attach(new RedisStore(redis, { prefix }), clock);
    const moved = owned(clock, 600, 'u1');
    await store.create(moved);
    await store.save({ ...moved, data: { [USER_SESSION_KEYS.userId]: 'u2' }, userId: 'u2' });
    assert.equal(await store.deleteUserSessions('u1'), 0);
    assert.ok(await store.load(moved.sessionKey));
    assert.equal(await redis.exists(`${prefix}:keepstate:user:u1`), 1, 'kept for a minute');
    clock.advance(61);
    assert.equal(await store.deleteUserSessions('u1'), 0);
    assert.equal(await redis.exists(`${prefix}:keepstate:user:u1`), 0);
    assert.equal(await store.deleteUserSessions('u2'), 1);
    assert.equal(await store.load(moved.sessionKey), null);
  });
});

describe('RedisStore when Redis is down', () => {
  /** A port nothing listens on: the one a closed server had. */
  function closedPort(): Promise<number> {
    return new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
  }

  async function assertEveryOperationFails(client: Redis): Promise<void> {
    const clock = testClock();
    const store = attach(new RedisStore(client, { prefix: PREFIX }), clock);
    const rec = record(clock, 60);
    const operations: [string, () => Promise<unknown>][] = [
      ['load', () => store.load(rec.sessionKey)],
      ['create', () => store.create(rec)],
      ['save', () => store.save(rec)],
      ['delete', () => store.delete(rec.sessionKey)],
      ['exists', () => store.exists(rec.sessionKey)],
    ];
    for (const [name, operation] of operations) {
      await assert.rejects(operation(), (error: unknown) => {
        assert.ok(error instanceof StoreError, `${name}: ${String(error)}`);
        assert.ok(error.cause instanceof Error, `${name}: a cause`);
        assert.match(error.message, /^keepstate: RedisStore could not run [A-Z ]+: /);
        return true;
      });
    }
  }

  test('every operation rejects with StoreError (offline queue bounded by commandTimeout)', async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port: await closedPort(),
      connectTimeout: 200,
      commandTimeout: 200,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    try {
      await assertEveryOperationFails(client);
    } finally {
      client.disconnect();
    }
  });

  test('every operation rejects with StoreError (offline queue off)', async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port: await closedPort(),
      connectTimeout: 200,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    client.on('error', () => {});
    try {
      await assertEveryOperationFails(client);
    } finally {
      client.disconnect();
    }
  });
});
