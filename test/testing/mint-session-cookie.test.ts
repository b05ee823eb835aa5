import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCookie } from '../../src/cookies/parse-cookie.js';
import { EXPIRY_KEY } from '../../src/core/expiry.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionData, SessionStore } from '../../src/core/session-store.js';
import { EncryptedCookieStore } from '../../src/stores/encrypted-cookie-store.js';
import { MemoryRevocationStore } from '../../src/stores/memory-revocation-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { SignedCookieStore } from '../../src/stores/signed-cookie-store.js';
import { mintSessionCookie } from '../../src/testing/mint-session-cookie.js';
import { TEST_SECRET } from '../support/attach.js';
import { testClock } from '../support/test-clock.js';

function managerOver<T extends SessionData = SessionData>(
  store: SessionStore,
  cookieName?: string,
) {
  const clock = testClock();
  const manager = new SessionManager<T>({
    store,
    secret: TEST_SECRET,
    clock,
    logger: { warn: (message) => assert.fail(`unexpected warning: ${message}`) },
    ...(cookieName !== undefined && { cookieName }),
  });
  /** The data a request carrying `cookie` sees. */
  const sessionOf = async (cookie: string) =>
    Object.fromEntries(await manager.open(cookie).items());
  return { manager, clock, sessionOf };
}

describe('mintSessionCookie', () => {
  const stores: Record<string, () => SessionStore> = {
    MemoryStore: () => new MemoryStore(),
    SignedCookieStore: () => new SignedCookieStore(),
    EncryptedCookieStore: () => new EncryptedCookieStore(),
  };
  for (const [name, makeStore] of Object.entries(stores)) {
    test(`${name}: a Cookie header value whose session holds the data`, async () => {
      const { manager, sessionOf } = managerOver(makeStore());
      const cookie = await mintSessionCookie(manager, { name: 'Zoë', cart: [1, 2] });
      assert.match(cookie, /^sessionid=[^;\s]+$/);
      assert.deepEqual(await sessionOf(cookie), { name: 'Zoë', cart: [1, 2] });
      assert.deepEqual(await sessionOf(`theme=dark; ${cookie}`), { name: 'Zoë', cart: [1, 2] });
    });
  }

  test("saves in the manager's store, under a new key each time", async () => {
    const store = new MemoryStore();
    const { manager } = managerOver(store);
    const first = await mintSessionCookie(manager, { a: 1 });
    const second = await mintSessionCookie(manager, { a: 1 });
    assert.notEqual(first, second);
    assert.equal(store.size, 2);
    const key = parseCookie(first).sessionid ?? '';
    assert.deepEqual((await store.load(key))?.data, { a: 1 });
  });

  test('empty data still makes a session', async () => {
    const store = new MemoryStore();
    const { manager } = managerOver(store);
    const cookie = await mintSessionCookie(manager, {});
    const session = manager.open(cookie);
    assert.deepEqual(await session.items(), []);
    assert.notEqual(session.sessionKey, null, 'the key was found, not dropped');
  });

  test("the expiry option is the session's own, as setExpiry takes it", async () => {
    for (const store of [new MemoryStore(), new EncryptedCookieStore()]) {
      const { manager, clock, sessionOf } = managerOver(store);
      const cookie = await mintSessionCookie(manager, { a: 1 }, { expiry: 300 });
      assert.deepEqual(await sessionOf(cookie), { a: 1, [EXPIRY_KEY]: 300 });
      clock.advance(300);
      assert.deepEqual(await sessionOf(cookie), {});
    }
  });

  test("the manager's cookie name", async () => {
    const { manager, sessionOf } = managerOver(new MemoryStore(), 'app_session');
    const cookie = await mintSessionCookie(manager, { a: 1 });
    assert.match(cookie, /^app_session=/);
    assert.deepEqual(await sessionOf(cookie), { a: 1 });
  });

  test('a logged-in cookie store session carries the user generation, so revokeUser ends it', async () => {
    const store = new EncryptedCookieStore({ revocation: { store: new MemoryRevocationStore() } });
    const { manager, sessionOf } = managerOver(store);
    const cookie = await mintSessionCookie(manager, { _auth_user_id: '42' });
    assert.deepEqual(await sessionOf(cookie), { _auth_user_id: '42' });
    await store.revokeUser('42');
    assert.deepEqual(await sessionOf(cookie), {});
  });

  test('typed data, and Django keys beside it', async () => {
    const { manager, sessionOf } = managerOver<{ name: string }>(new MemoryStore());
    const cookie = await mintSessionCookie(manager, { name: 'ann', _auth_user_id: '1' });
    // @ts-expect-error: `name` is a string in this manager's data
    await assert.doesNotReject(mintSessionCookie(manager, { name: 1 }));
    assert.deepEqual(await sessionOf(cookie), { name: 'ann', _auth_user_id: '1' });
  });
});
