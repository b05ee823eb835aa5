import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateSessionKey } from '../../src/core/session-key.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { storeSuite } from '../support/store-suite.js';
import { testClock } from '../support/test-clock.js';

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
