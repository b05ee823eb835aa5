import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreError, UpdateError } from '../../src/core/errors.js';
import { generateSessionKey } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionRecord, SessionStore } from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import { CachedStore } from '../../src/stores/cached-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { TEST_SECRET } from '../support/attach.js';
import { storeSuite } from '../support/store-suite.js';
import { type TestClock, testClock } from '../support/test-clock.js';

storeSuite(
  'CachedStore (memory over memory)',
  (clock) => new CachedStore(new MemoryStore({ clock }), new MemoryStore({ clock })),
);

/**
 * A cache that is down: every call fails the way a store reports an outage. A real cache
 * server cannot be made to fail on demand inside a test, hence this one fake (the real pair
 * runs in the Redis-over-SQL test).
 */
class DownStore implements SessionStore {
  calls = 0;
  #fail(): never {
    this.calls++;
    throw new StoreError('cache is down');
  }
  load = async (): Promise<SessionRecord | null> => this.#fail();
  create = async (): Promise<string> => this.#fail();
  save = async (): Promise<string> => this.#fail();
  delete = async (): Promise<void> => this.#fail();
  exists = async (): Promise<boolean> => this.#fail();
  clearExpired = async (): Promise<number> => this.#fail();
}

describe('CachedStore', () => {
  /** A CachedStore over two MemoryStores, and a record that lives a minute. */
  function pair() {
    const clock = testClock();
    const cache = new MemoryStore({ clock });
    const durable = new MemoryStore({ clock });
    const expiresAt = new Date(clock().getTime() + 60_000);
    const record = { sessionKey: 'k'.repeat(32), data: { a: 1 }, expiresAt };
    return { cache, durable, store: new CachedStore(cache, durable), record };
  }

  test('reads fill the cache from the durable store', async () => {
    const { cache, durable, store, record } = pair();
    await durable.create(record);
    assert.equal(await cache.exists(record.sessionKey), false);
    assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 1 });
    assert.deepEqual((await cache.load(record.sessionKey))?.data, { a: 1 });
  });

  test('writes go to both; a delete removes both', async () => {
    const { cache, durable, store, record } = pair();
    await store.create(record);
    await store.save({ ...record, data: { a: 2 } });
    assert.deepEqual((await durable.load(record.sessionKey))?.data, { a: 2 });
    assert.deepEqual((await cache.load(record.sessionKey))?.data, { a: 2 });
    await store.delete(record.sessionKey);
    assert.equal(await durable.exists(record.sessionKey), false);
    assert.equal(await cache.exists(record.sessionKey), false);
  });

  test('a cache outage is logged and never fails the request; the durable store stays the truth', async () => {
    const clock = testClock();
    const warnings: string[] = [];
    const cache = new DownStore();
    const durable = new MemoryStore({ clock });
    const manager = new SessionManager({
      store: new CachedStore(cache, durable),
      secret: TEST_SECRET,
      clock,
      logger: { warn: (message) => warnings.push(message) },
    });
    const first = manager.open(null);
    await first.set('user', 'alice');
    const outcome = await manager.commit(first, 200);
    assert.ok(outcome.setCookie);
    const again = manager.open(`sessionid=${first.sessionKey}`);
    assert.equal(await again.get('user'), 'alice');
    await again.flush();
    await manager.commit(again, 200);
    assert.equal(durable.size, 0);
    assert.ok(cache.calls >= 3);
    assert.ok(warnings.length >= 3);
    assert.match(warnings[0] ?? '', /Session cache failed/);
  });

  test('a failing durable store fails the request', async () => {
    const store = new CachedStore(new MemoryStore(), new DownStore());
    await assert.rejects(
      store.create({
        sessionKey: 'k'.repeat(32),
        data: {},
        expiresAt: new Date(Date.now() + 1000),
      }),
      StoreError,
    );
  });

  test('after cycleKey and after logout, the old key is in neither tier', async () => {
    const clock = testClock();
    const cache = new MemoryStore({ clock });
    const durable = new MemoryStore({ clock });
    const manager = new SessionManager({
      store: new CachedStore(cache, durable),
      secret: TEST_SECRET,
      clock,
      logger: { warn() {} },
    });
    const first = manager.open(null);
    await first.set('user', 'anon');
    await manager.commit(first, 200);
    const anonymous = first.sessionKey ?? '';
    const login = manager.open(`sessionid=${anonymous}`);
    assert.equal(await login.get('user'), 'anon');
    await login.cycleKey();
    await manager.commit(login, 200);
    const key = login.sessionKey ?? '';
    for (const tier of [cache, durable]) assert.equal(await tier.exists(anonymous), false);
    assert.equal(await durable.exists(key), true);
    // The save after cycleKey merged in the durable store and evicted the cache entry; the next
    // read fills it again.
    assert.equal(await manager.open(`sessionid=${key}`).get('user'), 'anon');
    assert.equal(await cache.exists(key), true);
    const logout = manager.open(`sessionid=${key}`);
    await logout.flush();
    await manager.commit(logout, 200);
    for (const tier of [cache, durable]) assert.equal(await tier.exists(key), false);
  });
});

describe('CachedStore: update and the user index', () => {
  function pair() {
    const clock = testClock();
    const cache = new MemoryStore({ clock, pruneInterval: 0 });
    const durable = new MemoryStore({ clock, pruneInterval: 0 });
    return { clock, cache, durable, store: new CachedStore(cache, durable) };
  }
  const owned = (clock: TestClock, userId: string): SessionRecord => ({
    sessionKey: generateSessionKey(),
    data: { [USER_SESSION_KEYS.userId]: userId },
    expiresAt: new Date(clock().getTime() + 600_000),
    userId,
  });

  test('update merges in the durable store and evicts the cache entry', async () => {
    const { clock, cache, durable, store } = pair();
    const rec = owned(clock, 'u1');
    await store.create(rec);
    assert.equal(await cache.exists(rec.sessionKey), true);
    await store.update(rec.sessionKey, (latest) => ({ ...rec, data: { ...latest, b: 2 } }));
    assert.equal(await cache.exists(rec.sessionKey), false, 'evicted, not written');
    assert.deepEqual((await durable.load(rec.sessionKey))?.data, { ...rec.data, b: 2 });
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { ...rec.data, b: 2 });
    assert.equal(await cache.exists(rec.sessionKey), true, 'the next read fills it');
  });

  test('an update that finds the session gone still evicts a stale cache entry', async () => {
    const { clock, cache, durable, store } = pair();
    const rec = owned(clock, 'u1');
    await store.create(rec);
    await durable.delete(rec.sessionKey);
    await assert.rejects(
      store.update(rec.sessionKey, () => rec),
      UpdateError,
    );
    assert.equal(await cache.exists(rec.sessionKey), false);
  });

  test('over a durable store with no update, update is load, merge and save', async () => {
    const clock = testClock();
    const inner = new MemoryStore({ clock, pruneInterval: 0 });
    const durable: SessionStore = {
      load: (key) => inner.load(key),
      create: (record) => inner.create(record),
      save: (record) => inner.save(record),
      delete: (key) => inner.delete(key),
      exists: (key) => inner.exists(key),
      clearExpired: () => inner.clearExpired(),
    };
    const store = new CachedStore(new MemoryStore({ clock, pruneInterval: 0 }), durable);
    assert.equal(store.listSessions, undefined);
    assert.equal(store.deleteUserSessions, undefined);
    const rec = owned(clock, 'u1');
    await store.create(rec);
    await store.update(rec.sessionKey, (latest) => ({ ...rec, data: { ...latest, b: 2 } }));
    assert.deepEqual((await inner.load(rec.sessionKey))?.data, { ...rec.data, b: 2 });
    await inner.delete(rec.sessionKey);
    await assert.rejects(
      store.update(rec.sessionKey, () => rec),
      UpdateError,
    );
  });

  test('deleteUserSessions ends the sessions in the cache too, also those a read put there', async () => {
    const { clock, cache, durable, store } = pair();
    const current = owned(clock, 'u1');
    const other = owned(clock, 'u1');
    await store.create(current);
    // Written by another process: only a read puts it in this cache, without a userId.
    await durable.create(other);
    assert.ok(await store.load(other.sessionKey));
    assert.equal(await cache.exists(other.sessionKey), true);
    assert.equal(await store.deleteUserSessions?.('u1', { except: current.sessionKey }), 1);
    assert.equal(await cache.exists(other.sessionKey), false);
    assert.equal(await store.load(other.sessionKey), null);
    assert.ok(await store.load(current.sessionKey));
    assert.equal((await store.listSessions?.('u1'))?.length, 1);
  });
});
