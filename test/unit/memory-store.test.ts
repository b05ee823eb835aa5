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
