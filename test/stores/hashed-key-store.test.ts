import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpdateError } from '../../src/core/errors.js';
import { generateSessionKey, sessionKeyHash } from '../../src/core/session-key.js';
import type { SessionRecord, SessionStore } from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import { HashedKeyStore } from '../../src/stores/hashed-key-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { TEST_SECRET } from '../support/attach.js';
import { type TestClock, testClock } from '../support/test-clock.js';

describe('HashedKeyStore: update and the user index', () => {
  function setup() {
    const clock = testClock();
    const inner = new MemoryStore({ clock, pruneInterval: 0 });
    return { clock, inner, store: new HashedKeyStore(inner, TEST_SECRET) };
  }
  const owned = (clock: TestClock, userId: string): SessionRecord => ({
    sessionKey: generateSessionKey(),
    data: { [USER_SESSION_KEYS.userId]: userId },
    expiresAt: new Date(clock().getTime() + 600_000),
    userId,
  });

  test('update merges under the stored key and returns the session key', async () => {
    const { clock, inner, store } = setup();
    const rec = owned(clock, 'u1');
    await store.create(rec);
    assert.equal(
      await store.update?.(rec.sessionKey, (latest) => ({ ...rec, data: { ...latest, b: 2 } })),
      rec.sessionKey,
    );
    assert.deepEqual((await store.load(rec.sessionKey))?.data, { ...rec.data, b: 2 });
    assert.equal(await inner.exists(rec.sessionKey), false);
    assert.deepEqual((await inner.load(store.storedKey(rec.sessionKey)))?.data, {
      ...rec.data,
      b: 2,
    });
    await store.delete(rec.sessionKey);
    await assert.rejects(
      store.update?.(rec.sessionKey, () => rec) ?? Promise.reject(),
      UpdateError,
    );
  });

  test('listSessions gives hashes of the stored keys; deleteUserSessions keeps `except`', async () => {
    const { clock, store } = setup();
    const current = owned(clock, 'u1');
    const other = owned(clock, 'u1');
    for (const rec of [current, other]) await store.create(rec);
    const hashes = (await store.listSessions?.('u1'))?.map((s) => s.keyHash).sort();
    assert.deepEqual(
      hashes,
      [current, other].map((rec) => sessionKeyHash(store.storedKey(rec.sessionKey))).sort(),
    );
    assert.equal(await store.deleteUserSessions?.('u1', { except: current.sessionKey }), 1);
    assert.equal(await store.load(other.sessionKey), null);
    assert.ok(await store.load(current.sessionKey));
    assert.equal(await store.deleteUserSessions?.('u1', { except: null }), 1);
    assert.equal(await store.load(current.sessionKey), null);
  });

  test('it has only the members the wrapped store has', () => {
    const inner = new MemoryStore({ pruneInterval: 0 });
    const bare: SessionStore = {
      load: (key) => inner.load(key),
      create: (record) => inner.create(record),
      save: (record) => inner.save(record),
      delete: (key) => inner.delete(key),
      exists: (key) => inner.exists(key),
      clearExpired: () => inner.clearExpired(),
    };
    const store = new HashedKeyStore(bare, TEST_SECRET);
    assert.equal(store.update, undefined);
    assert.equal(store.listSessions, undefined);
    assert.equal(store.deleteUserSessions, undefined);
  });
});
