import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  generateSessionKey,
  isValidSessionKey,
  sessionKeyTag,
} from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { MemoryStore } from '../../src/stores/memory-store.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

test('keys come from the CSPRNG only: Math.random replaced by a constant changes nothing', async (t) => {
  t.mock.method(Math, 'random', () => 0.5);
  const keys = new Set<string>();
  const counts = new Map<string, number>();
  for (let index = 0; index < 10_000; index++) {
    const key = generateSessionKey();
    assert.match(key, /^[a-z0-9]{32}$/);
    keys.add(key);
    for (const char of key) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  assert.equal(keys.size, 10_000, 'every key is new');
  assert.equal(counts.size, 36, 'every character of the alphabet is drawn');
  assert.equal((Math.random as unknown as { mock: { callCount(): number } }).mock.callCount(), 0);

  // The same through a manager: sessions get distinct keys.
  const manager = new SessionManager({ store: new MemoryStore(), secret: SECRET });
  const issued = new Set<string>();
  for (let index = 0; index < 100; index++) {
    const session = manager.open(null);
    await session.set('n', index);
    await manager.commit(session, 200);
    issued.add(session.sessionKey ?? '');
  }
  assert.equal(issued.size, 100);
});

test('sessionKeyTag: 12 hex digits, stable, keyed with the secret, never the key itself', () => {
  const key = generateSessionKey();
  const tag = sessionKeyTag(key, SECRET);
  assert.match(tag, /^[0-9a-f]{12}$/);
  assert.equal(sessionKeyTag(key, SECRET), tag);
  assert.notEqual(sessionKeyTag(key, `${SECRET}-other`), tag);
  assert.notEqual(sessionKeyTag(generateSessionKey(), SECRET), tag);
  assert.ok(!key.includes(tag) && !tag.includes(key.slice(0, 6)));
});

test('a key is 8 to 40 of [a-z0-9] before any store call: no SQL, glob or path gets through', async () => {
  let calls = 0;
  class CountingStore extends MemoryStore {
    override async load(key: string) {
      calls++;
      return super.load(key);
    }
  }
  const manager = new SessionManager({
    store: new CountingStore(),
    secret: SECRET,
    logger: { warn() {} },
  });
  for (const value of [
    "x' OR '1'='1",
    'abc*',
    'a?b[c]defgh',
    '../../etc/passwd',
    'ABCDEFGHIJKLMNOP',
    'short',
    'a'.repeat(41),
    'abcdefgh\u0000',
    'abcdefgh ijk',
    'abcdefgh%00',
  ]) {
    assert.equal(isValidSessionKey(value), false, value);
    const session = manager.open({ sessionid: value });
    assert.equal(await session.get('a'), undefined);
  }
  assert.equal(calls, 0);
});
