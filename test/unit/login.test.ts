import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreError } from '../../src/core/errors.js';
import { LOGIN_SESSION_KEYS, login, logout } from '../../src/core/login.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { testClock } from '../support/test-clock.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend';

/** A MemoryStore whose deletes can fail, as a backend that went down. */
class DeletingStore extends MemoryStore {
  failDeletes = false;
  override async delete(sessionKey: string): Promise<void> {
    if (this.failDeletes) throw new StoreError('down');
    return super.delete(sessionKey);
  }
}

function setup() {
  const clock = testClock();
  const store = new DeletingStore({ clock });
  const manager = new SessionManager({ store, secret: SECRET, clock, logger: { warn() {} } });
  /** Runs one request on the session of `key` (or none), commits it, returns the new key. */
  const request = async (
    key: string | null,
    handle: (session: ReturnType<typeof manager.open>) => Promise<void>,
  ) => {
    const session = manager.open(key === null ? null : `sessionid=${key}`);
    await handle(session);
    const outcome = await manager.commit(session, 200);
    return { key: session.sessionKey, setCookie: outcome.setCookie };
  };
  const loggedIn = async (id: string, hash = '') =>
    (await request(null, (s) => login(s, { id, sessionAuthHash: hash }))).key ?? '';
  return { store, manager, request, loggedIn };
}

describe("login: django.contrib.auth.login's session steps", () => {
  test("over an anonymous session: the key is cycled, the visitor's data kept, the old key dead", async () => {
    const { store, request } = setup();
    const anonymous = (await request(null, (s) => s.set('cart', ['book']))).key ?? '';
    const { key, setCookie } = await request(anonymous, (s) =>
      login(s, { id: 42, sessionAuthHash: 'h1' }),
    );
    assert.ok(key && key !== anonymous);
    assert.match(setCookie ?? '', new RegExp(`^sessionid=${key};`));
    assert.equal(await store.exists(anonymous), false);
    assert.deepEqual((await store.load(key))?.data, {
      cart: ['book'],
      _auth_user_id: '42',
      _auth_user_backend: MODEL_BACKEND,
      _auth_user_hash: 'h1',
    });
  });

  test('with no session yet: a new key holds the login', async () => {
    const { store, request } = setup();
    const { key } = await request(null, (s) => login(s, { id: 'u-1', backend: 'my.Backend' }));
    assert.deepEqual((await store.load(key ?? ''))?.data, {
      _auth_user_id: 'u-1',
      _auth_user_backend: 'my.Backend',
      _auth_user_hash: '',
    });
  });

  test("over another user's login: flushed, never cycled, so nothing of theirs is kept", async () => {
    const { store, request, loggedIn } = setup();
    const alice = await loggedIn('1', 'alice-hash');
    await request(alice, (s) => s.set('secret', "alice's"));
    const { key } = await request(alice, (s) => login(s, { id: '2', sessionAuthHash: 'bob-hash' }));
    assert.ok(key && key !== alice);
    assert.equal(await store.exists(alice), false, "alice's record is deleted");
    assert.deepEqual((await store.load(key))?.data, {
      _auth_user_id: '2',
      _auth_user_backend: MODEL_BACKEND,
      _auth_user_hash: 'bob-hash',
    });
  });

  test('over the same user with another session auth hash (a password change): flushed', async () => {
    const { store, request, loggedIn } = setup();
    const before = await loggedIn('1', 'old-hash');
    await request(before, (s) => s.set('note', 'from before'));
    const { key } = await request(before, (s) => login(s, { id: 1, sessionAuthHash: 'new-hash' }));
    assert.notEqual(key, before);
    assert.equal((await store.load(key ?? ''))?.data.note, undefined);
  });

  test('over the same login: nothing moves, as in Django', async () => {
    const { store, request, loggedIn } = setup();
    const key = await loggedIn('1', 'hash');
    await request(key, (s) => s.set('note', 'kept'));
    const again = await request(key, (s) => login(s, { id: 1, sessionAuthHash: 'hash' }));
    assert.equal(again.key, key);
    assert.equal((await store.load(key))?.data.note, 'kept');
  });

  test('a user without a hash is compared by id only (Django: `session_auth_hash and ...`)', async () => {
    const { request, loggedIn } = setup();
    const key = await loggedIn('1', 'stored-hash');
    assert.equal((await request(key, (s) => login(s, { id: '1' }))).key, key);
  });

  test('the keys are Django auth keys', () => {
    assert.deepEqual(LOGIN_SESSION_KEYS, {
      userId: '_auth_user_id',
      backend: '_auth_user_backend',
      hash: '_auth_user_hash',
    });
  });
});

describe('logout', () => {
  test('flushes: the record is deleted and the cookie deleted once', async () => {
    const { store, request, loggedIn } = setup();
    const key = await loggedIn('1');
    const { key: after, setCookie } = await request(key, (s) => logout(s));
    assert.equal(after, null);
    assert.match(setCookie ?? '', /^sessionid=""; .*Max-Age=0/);
    assert.equal(await store.exists(key), false);
  });

  test('a store that fails during logout fails the request: the logout must not look done', async () => {
    const { store, manager, loggedIn } = setup();
    const key = await loggedIn('1');
    store.failDeletes = true;
    const session = manager.open(`sessionid=${key}`);
    await assert.rejects(logout(session), StoreError);
    store.failDeletes = false;
    assert.equal(await store.exists(key), true);
  });
});
