import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client } from 'memjs';
import { CreateError, StoreError, UpdateError } from '../../src/core/errors.js';
import { encodeSessionData } from '../../src/core/session-codec.js';
import { generateSessionKey, sessionKeyHash } from '../../src/core/session-key.js';
import type { SessionRecord } from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { MemcachedStore } from '../../src/stores/memcached-store.js';
import { attach, TEST_SECRET } from '../support/attach.js';
import {
  type MemcachedServer,
  memcachedTool,
  startMemcached,
} from '../support/memcached-server.js';
import { counting, owned, record, updatedRecord } from '../support/records.js';
import { needService } from '../support/services.js';
import { storeSuite } from '../support/store-suite.js';
import { testClock } from '../support/test-clock.js';

const PREFIX = `keepstate-test-${randomUUID()}`;
const DAY = 86_400;
const quiet = { log() {} };

const skip = await needService('memcached', memcachedTool, 'apt-get install -y memcached');

/**
 * Whether a TTL memcached reports is `seconds`, give or take its one-second clock ticks, with a
 * minute of slack for a slow machine.
 */
function near(ttl: number, seconds: number): boolean {
  return ttl > seconds - 60 && ttl <= seconds + 1;
}

/**
 * An item as memcached holds it, through the meta protocol (`mg key v t`): its value and its
 * remaining TTL in seconds, or `null` when there is none.
 */
function readItem(port: number, key: string): Promise<{ value: string; ttl: number } | null> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('no reply')));
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.startsWith('EN\r\n')) {
        socket.end();
        return resolve(null);
      }
      const match = /^VA (\d+) t(-?\d+)\r\n/.exec(text);
      if (match === null) {
        if (text.includes('\r\n')) reject(new Error(`unexpected reply ${JSON.stringify(text)}`));
        return;
      }
      const start = match[0].length;
      const size = Number(match[1]);
      if (text.length < start + size + 2) return;
      socket.end();
      resolve({ value: text.slice(start, start + size), ttl: Number(match[2]) });
    });
    socket.write(`mg ${key} v t\r\n`);
  });
}

describe('MemcachedStore on a real memcached', { skip }, () => {
  let server: MemcachedServer;
  let client: Client;

  before(async () => {
    server = await startMemcached();
    client = Client.create(server.url, { retries: 1, timeout: 2, logger: quiet });
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  // A prefix per store: the suite's user indexes (user "u1", say) must start empty each time.
  storeSuite('MemcachedStore', (clock) =>
    attach(new MemcachedStore(client, { prefix: `${PREFIX}:${randomUUID()}` }), clock),
  );

  test("stores Django's encoded data under prefix:key, with the TTL from the manager's clock", async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const rec = record(clock, 3_600.9, { user: 'Zoë', cart: [1, 2] });
    await store.create(rec);
    const item = await readItem(server.port, `${PREFIX}:${rec.sessionKey}`);
    assert.equal(item?.value, encodeSessionData(rec.data, { secret: TEST_SECRET, clock }));
    // Floored to 3600 s, as Django's get_expiry_age (a minute of slack for a slow machine).
    assert.ok(item && item.ttl > 3_600 - 60 && item.ttl <= 3_600, `TTL ${item?.ttl}`);
  });

  test('uses keepstate.session:<session key> by default', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client), clock);
    const rec = record(clock, 60);
    await store.create(rec);
    assert.ok(await readItem(server.port, `keepstate.session:${rec.sessionKey}`));
    await store.delete(rec.sessionKey);
    assert.equal(await readItem(server.port, `keepstate.session:${rec.sessionKey}`), null);
  });

  test('sends an expiry of more than 30 days as a unix time, as memcached requires', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    // Sent as the relative 5184000, memcached would read 1970-03-02 and drop the item at once.
    const rec = record(clock, 60 * DAY);
    await store.create(rec);
    const item = await readItem(server.port, `${PREFIX}:${rec.sessionKey}`);
    assert.ok(item && near(item.ttl, 60 * DAY), `TTL ${item?.ttl}`);
    await store.save({ ...rec, expiresAt: new Date(clock().getTime() + 90 * DAY * 1000) });
    const saved = await readItem(server.port, `${PREFIX}:${rec.sessionKey}`);
    assert.ok(saved && near(saved.ttl, 90 * DAY), `TTL ${saved?.ttl}`);
  });

  test('sends exactly 30 days as a relative expiry', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const rec = record(clock, 30 * DAY);
    await store.create(rec);
    const item = await readItem(server.port, `${PREFIX}:${rec.sessionKey}`);
    assert.ok(item && near(item.ttl, 30 * DAY), `TTL ${item?.ttl}`);
  });

  test('add: create leaves a taken key alone; replace: save of a missing key writes nothing', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const rec = record(clock, 60);
    await store.create(rec);
    const key = `${PREFIX}:${rec.sessionKey}`;
    const before = await readItem(server.port, key);
    await assert.rejects(store.create({ ...rec, data: { b: 2 } }), CreateError);
    assert.equal((await readItem(server.port, key))?.value, before?.value);
    const missing = record(clock, 60);
    await assert.rejects(store.save(missing), UpdateError);
    assert.equal(await readItem(server.port, `${PREFIX}:${missing.sessionKey}`), null);
  });

  test('a record with less than a second left is not written (exptime 0 would be "never"); save deletes it', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const almost = record(clock, 0.5);
    assert.equal(await store.create(almost), almost.sessionKey);
    assert.equal(await readItem(server.port, `${PREFIX}:${almost.sessionKey}`), null);

    const live = record(clock, 60);
    await store.create(live);
    await assert.rejects(store.create({ ...live, expiresAt: clock() }), CreateError);
    await store.save({ ...live, expiresAt: clock() });
    assert.equal(await readItem(server.port, `${PREFIX}:${live.sessionKey}`), null);
    await assert.rejects(store.save({ ...live, expiresAt: clock() }), UpdateError);
  });

  test('data that does not verify loads as an empty session under the same key, as in Django', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const sessionKey = generateSessionKey();
    await client.set(`${PREFIX}:${sessionKey}`, 'not-django-data:1r31eq:bad', { expires: 60 });
    assert.deepEqual((await store.load(sessionKey))?.data, {});
  });

  test("update writes Django's encoded data and the merge's expiry, and gives its lock back", async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const { sessionKey, data } = await updatedRecord(store, clock, 3_600);
    const key = `${PREFIX}:${sessionKey}`;
    const item = await readItem(server.port, key);
    assert.equal(item?.value, encodeSessionData(data, { secret: TEST_SECRET, clock }));
    assert.ok(item && near(item.ttl, 3_600), `TTL ${item?.ttl}`);
    assert.equal(await readItem(server.port, `${key}.lock`), null);
  });

  test('a merge that throws leaves the session as it was and gives the lock back', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const rec = record(clock, 60, { a: 1 });
    await store.create(rec);
    const key = `${PREFIX}:${rec.sessionKey}`;
    const before = await readItem(server.port, key);
    await assert.rejects(
      store.update(rec.sessionKey, () => {
        throw new Error('merge failed');
      }),
      /merge failed/,
    );
    assert.equal((await readItem(server.port, key))?.value, before?.value);
    assert.equal(await readItem(server.port, `${key}.lock`), null);
    await store.update(rec.sessionKey, (latest) => ({ ...rec, data: { ...latest, b: 2 } }));
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1, b: 2 });
  });

  test('update of a missing session gives the lock back too', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const rec = record(clock, 60);
    await assert.rejects(
      store.update(rec.sessionKey, (data) => ({ ...rec, data })),
      UpdateError,
    );
    assert.equal(await readItem(server.port, `${PREFIX}:${rec.sessionKey}.lock`), null);
  });

  test('update waits for a lock held elsewhere, and gives StoreError when it is never freed', async () => {
    const clock = testClock();
    const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
    const rec = record(clock, 60, { a: 1 });
    await store.create(rec);
    const lock = `${PREFIX}:${rec.sessionKey}.lock`;
    await client.add(lock, 'elsewhere', { expires: 30 });
    const merge = (latest: SessionRecord['data']) => ({ ...rec, data: { ...latest, b: 2 } });
    const waiting = store.update(rec.sessionKey, merge);
    setTimeout(() => void client.delete(lock), 100);
    await waiting;
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1, b: 2 });

    await client.add(lock, 'elsewhere', { expires: 30 });
    await assert.rejects(
      store.update(rec.sessionKey, merge),
      (error: unknown) => error instanceof StoreError && /lock/.test(error.message),
    );
    assert.equal(
      (await readItem(server.port, lock))?.value,
      'elsewhere',
      'not taken from its holder',
    );
    await client.delete(lock);
  });

  test('an anonymous session costs one command to create or save', async () => {
    const clock = testClock();
    const { client: counted, sent } = counting(client);
    const store = attach(new MemcachedStore(counted, { prefix: PREFIX }), clock);
    const anonymous = record(clock, 60);
    await store.create(anonymous);
    await store.save(anonymous);
    assert.deepEqual(sent.splice(0), ['add', 'replace']);
    await store.update(anonymous.sessionKey, (data) => ({ ...anonymous, data }));
    assert.deepEqual(sent.splice(0), ['add', 'get', 'replace', 'delete']);
    await store.create(owned(clock, 60, 'u1'));
    assert.deepEqual(sent.splice(0), ['add', 'get', 'set', 'delete', 'add']);
  });

  test('the user index is the item prefix:user:<digest>, a JSON map expiring with its longest session', async () => {
    const clock = testClock();
    const prefix = `${PREFIX}:${randomUUID()}`;
    const store = attach(new MemcachedStore(client, { prefix }), clock);
    const userId = 'name with spaces and a long tail '.repeat(20);
    const digest = createHash('sha256').update(userId).digest('base64url').slice(0, 32);
    const key = `${prefix}:user:${digest}`;
    const short = owned(clock, 600, userId, 'Firefox');
    const long = owned(clock, 7_200, userId);
    await store.create(short);
    assert.ok(near((await readItem(server.port, key))?.ttl ?? 0, 600));
    await store.create(long);
    await store.save({ ...short, expiresAt: new Date(clock().getTime() + 60_000) });
    const item = await readItem(server.port, key);
    assert.ok(item && near(item.ttl, 7_200), `TTL ${item?.ttl}`);
    const now = clock().getTime();
    assert.deepEqual(JSON.parse(item.value), {
      [short.sessionKey]: {
        createdAt: now,
        lastActivity: now,
        expiresAt: now + 60_000,
        userAgent: 'Firefox',
      },
      [long.sessionKey]: { createdAt: now, lastActivity: now, expiresAt: now + 7_200_000 },
    });
    assert.equal(await readItem(server.port, `${key}.lock`), null);
    assert.deepEqual(
      (await store.listSessions(userId)).map((s) => s.keyHash).sort(),
      [short, long].map((r) => sessionKeyHash(r.sessionKey)).sort(),
    );
  });

  test('listSessions prunes the entries of sessions deleted or now of another user', async () => {
    const clock = testClock();
    const prefix = `${PREFIX}:${randomUUID()}`;
    const store = attach(new MemcachedStore(client, { prefix }), clock);
    const digest = createHash('sha256').update('u1').digest('base64url').slice(0, 32);
    const indexed = async () => {
      const item = await readItem(server.port, `${prefix}:user:${digest}`);
      return Object.keys(JSON.parse(item?.value ?? '{}')).length;
    };
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
    assert.equal(await indexed(), 3);
    clock.advance(61);
    assert.equal((await store.listSessions('u1')).length, 1);
    const item = await readItem(server.port, `${prefix}:user:${digest}`);
    assert.deepEqual(Object.keys(JSON.parse(item?.value ?? '{}')), [kept.sessionKey]);
  });

  test('deleteUserSessions leaves a session filed under the user that now belongs to another', async () => {
    const clock = testClock();
    const prefix = `${PREFIX}:${randomUUID()}`;
    const store = attach(new MemcachedStore(client, { prefix }), clock);
    const moved = owned(clock, 600, 'u1');
    await store.create(moved);
    await store.save({ ...moved, data: { [USER_SESSION_KEYS.userId]: 'u2' }, userId: 'u2' });
    assert.equal(await store.deleteUserSessions('u1'), 0);
    assert.ok(await store.load(moved.sessionKey));
    const digest = createHash('sha256').update('u1').digest('base64url').slice(0, 32);
    assert.ok(await readItem(server.port, `${prefix}:user:${digest}`), 'kept for a minute');
    clock.advance(61);
    assert.equal(await store.deleteUserSessions('u1'), 0);
    assert.equal(await readItem(server.port, `${prefix}:user:${digest}`), null);
    assert.equal(await store.deleteUserSessions('u2'), 1);
    assert.equal(await store.load(moved.sessionKey), null);
  });
});

describe('MemcachedStore', () => {
  test('refuses a prefix memcached cannot take', () => {
    const client = Client.create('127.0.0.1:1', { logger: quiet });
    try {
      for (const prefix of ['has space', 'tab\t', 'x'.repeat(201), 'é']) {
        assert.throws(() => new MemcachedStore(client, { prefix }), ImproperlyConfigured);
      }
      assert.doesNotThrow(() => new MemcachedStore(client, { prefix: '' }));
    } finally {
      client.close();
    }
  });

  test('every operation rejects with StoreError when memcached is down', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const client = Client.create(`127.0.0.1:${port}`, {
      retries: 1,
      timeout: 0.2,
      conntimeout: 0.2,
      logger: quiet,
    });
    try {
      const clock = testClock();
      const store = attach(new MemcachedStore(client, { prefix: PREFIX }), clock);
      const rec = record(clock, 60);
      for (const [name, operation] of [
        ['load', () => store.load(rec.sessionKey)],
        ['create', () => store.create(rec)],
        ['save', () => store.save(rec)],
        ['delete', () => store.delete(rec.sessionKey)],
        ['exists', () => store.exists(rec.sessionKey)],
      ] as const) {
        await assert.rejects(operation(), (error: unknown) => {
          assert.ok(error instanceof StoreError, `${name}: ${String(error)}`);
          assert.ok(error.cause instanceof Error, `${name}: a cause`);
          return true;
        });
      }
    } finally {
      client.close();
    }
  });
});
