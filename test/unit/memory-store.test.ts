import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpdateError } from '../../src/core/errors.js';
import { generateSessionKey, sessionKeyHash } from '../../src/core/session-key.js';
import type { SessionRecord } from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { storeSuite } from '../support/store-suite.js';
import { type TestClock, testClock } from '../support/test-clock.js';

storeSuite('MemoryStore', (clock) => new MemoryStore({ clock }));

test('MemoryStore drops the least recently used session past maxSessions', async () => {
  const clock = testClock();
  const store = new MemoryStore({ clock, maxSessions: 3 });
  const expiresAt = new Date(clock().getTime() + 60_000);
  const keys = [
    generateSessionKey(),
    generateSessionKey(),
    generateSessionKey(),
    generateSessionKey(),
  ];
  for (const key of keys.slice(0, 3)) await store.create({ sessionKey: key, data: {}, expiresAt });
  await store.load(keys[0]!); // now the most recently used
  await store.create({ sessionKey: keys[3]!, data: {}, expiresAt });
  assert.equal(store.size, 3);
  assert.equal(await store.exists(keys[1]!), false, 'the least recently used one is dropped');
  assert.equal(await store.exists(keys[0]!), true);
  assert.equal(await store.exists(keys[3]!), true);
});

test('MemoryStore never holds more than maxSessions, whatever is written', async () => {
  const clock = testClock();
  const store = new MemoryStore({ clock, maxSessions: 50, pruneInterval: 0 });
  const expiresAt = new Date(clock().getTime() + 60_000);
  for (let index = 0; index < 1_000; index++) {
    await store.create({ sessionKey: generateSessionKey(), data: { index }, expiresAt });
    assert.ok(store.size <= 50, `${store.size} sessions after ${index + 1} writes`);
  }
  assert.equal(store.size, 50);
});

test('MemoryStore sweeps expired sessions on a timer, every pruneInterval seconds', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const clock = testClock();
  const store = new MemoryStore({ clock, pruneInterval: 30 });
  const soon = new Date(clock().getTime() + 10_000);
  const later = new Date(clock().getTime() + 3_600_000);
  for (let index = 0; index < 5; index++) {
    await store.create({ sessionKey: generateSessionKey(), data: {}, expiresAt: soon });
  }
  const kept = generateSessionKey();
  await store.create({ sessionKey: kept, data: {}, expiresAt: later });
  clock.advance(60);
  assert.equal(store.size, 6, 'nothing read them, nothing swept them yet');
  t.mock.timers.tick(29_999);
  assert.equal(store.size, 6);
  t.mock.timers.tick(1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(store.size, 1, 'the timer swept the expired ones');
  assert.equal(await store.exists(kept), true);
});

test('MemoryStore: pruneInterval 0 starts no timer; bad options are refused', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const clock = testClock();
  const store = new MemoryStore({ clock, pruneInterval: 0 });
  const expiresAt = new Date(clock().getTime() + 1_000);
  await store.create({ sessionKey: generateSessionKey(), data: {}, expiresAt });
  clock.advance(10);
  t.mock.timers.tick(10_000_000);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(store.size, 1, 'no sweep without a timer');
  for (const options of [
    { pruneInterval: -1 },
    { pruneInterval: Number.NaN },
    { maxSessions: 0 },
  ]) {
    assert.throws(() => new MemoryStore(options), RangeError);
  }
});

describe('MemoryStore: update and the user index', () => {
  const owned = (clock: TestClock, userId: string, ageSeconds = 600): SessionRecord => ({
    sessionKey: generateSessionKey(),
    data: { [USER_SESSION_KEYS.userId]: userId },
    expiresAt: new Date(clock().getTime() + ageSeconds * 1000),
    userId,
  });
  const listed = async (store: MemoryStore, userId: string) =>
    (await store.listSessions(userId)).map((s) => s.keyHash).sort();

  test('update calls merge once, and a merge that throws writes nothing', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock, pruneInterval: 0 });
    const rec = owned(clock, 'u1');
    await store.create(rec);
    let calls = 0;
    await store.update(rec.sessionKey, (latest) => {
      calls++;
      return { ...rec, data: { ...latest, n: 1 } };
    });
    assert.equal(calls, 1);
    await assert.rejects(
      store.update(rec.sessionKey, () => {
        throw new Error('merge failed');
      }),
      /merge failed/,
    );
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { ...rec.data, n: 1 });
    assert.deepEqual(await listed(store, 'u1'), [sessionKeyHash(rec.sessionKey)]);
  });

  test('an expired record cannot be updated', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock, pruneInterval: 0 });
    const rec = owned(clock, 'u1', 10);
    await store.create(rec);
    clock.advance(10);
    await assert.rejects(
      store.update(rec.sessionKey, () => rec),
      UpdateError,
    );
  });

  test('eviction, expiry sweeps and a save as anonymous take sessions out of the index', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock, maxSessions: 2, pruneInterval: 0 });
    const evicted = owned(clock, 'u1');
    await store.create(evicted);
    await store.create(owned(clock, 'u2'));
    await store.create(owned(clock, 'u3'));
    assert.deepEqual(await listed(store, 'u1'), [], 'evicted as least recently used');
    assert.equal(await store.deleteUserSessions('u1'), 0);

    const short = owned(clock, 'u2', 5);
    await store.create(short);
    clock.advance(5);
    assert.equal(await store.clearExpired(), 1);
    assert.equal(await store.deleteUserSessions('u2'), 0);

    const anonymous = owned(clock, 'u4');
    await store.create(anonymous);
    await store.save({
      sessionKey: anonymous.sessionKey,
      data: {},
      expiresAt: anonymous.expiresAt,
    });
    assert.deepEqual(await listed(store, 'u4'), []);
    assert.equal(await store.deleteUserSessions('u4'), 0);
    assert.deepEqual((await store.load(anonymous.sessionKey))?.data, {});
  });

  test('createdAt restarts when a session moves to another user, and the agent follows the record', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock, pruneInterval: 0 });
    const rec = owned(clock, 'u1');
    await store.create(rec);
    clock.advance(60);
    await store.save({ ...rec, userId: 'u2', userAgent: 'curl' });
    const [moved] = await store.listSessions('u2');
    assert.equal(moved?.createdAt.getTime(), clock().getTime());
    assert.equal(moved?.userAgent, 'curl');
    clock.advance(60);
    await store.update(rec.sessionKey, (latest) => ({ ...rec, data: latest, userId: 'u2' }));
    const [again] = await store.listSessions('u2');
    assert.equal(again?.createdAt.getTime(), moved?.createdAt.getTime());
    assert.equal(again?.lastActivity.getTime(), clock().getTime());
    assert.equal(again?.userAgent, undefined);
  });
});
