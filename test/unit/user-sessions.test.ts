import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionInterrupted } from '../../src/core/errors.js';
import { login } from '../../src/core/login.js';
import { sessionKeyHash } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { SignedCookieStore } from '../../src/stores/signed-cookie-store.js';
import { testClock } from '../support/test-clock.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

function setup() {
  const clock = testClock();
  const manager = new SessionManager({ store: new MemoryStore({ clock }), secret: SECRET, clock });
  /** Signs `userId` in on a new device; returns its cookie header. */
  const signIn = async (userId: string, userAgent: string) => {
    const session = manager.open(null);
    await session.setUser(userId, { userAgent });
    await manager.commit(session, 200);
    return `sessionid=${session.sessionKey}`;
  };
  return { clock, manager, signIn };
}

const keyOf = (cookie: string) => cookie.slice('sessionid='.length);

describe("setUser and the manager's listSessions/deleteUserSessions: log out everywhere", () => {
  test("listSessions shows each of the user's devices, never their keys", async () => {
    const { manager, signIn } = setup();
    const laptop = await signIn('42', 'Firefox on Linux');
    const phone = await signIn('42', 'Safari on iOS');
    await signIn('7', 'Chrome');
    const listed = await manager.listSessions(42);
    assert.deepEqual(
      listed.map((s) => [s.keyHash, s.userAgent]).sort(),
      [
        [sessionKeyHash(keyOf(laptop)), 'Firefox on Linux'],
        [sessionKeyHash(keyOf(phone)), 'Safari on iOS'],
      ].sort(),
    );
    assert.ok(!JSON.stringify(listed).includes(keyOf(laptop)));
  });

  test('deleteUserSessions with except logs out the other devices only', async () => {
    const { manager, signIn } = setup();
    const laptop = await signIn('42', 'Firefox');
    const phone = await signIn('42', 'Safari');
    const current = manager.open(laptop);
    assert.equal(await current.getUser(), '42');
    assert.equal(await manager.deleteUserSessions(42, { except: current.sessionKey }), 1);
    assert.equal(await manager.open(phone).get('_keepstate_user'), undefined);
    assert.equal(await manager.open(laptop).getUser(), '42');
  });

  test('a request in flight on a device being logged out cannot bring it back', async () => {
    const { manager, signIn } = setup();
    const phone = await signIn('42', 'Safari');
    const inFlight = manager.open(phone);
    await inFlight.set('cart', ['book']);
    await manager.deleteUserSessions('42');
    await assert.rejects(async () => manager.commit(inFlight, 200), SessionInterrupted);
    assert.deepEqual(await manager.listSessions('42'), []);
  });

  test("Django's login (_auth_user_id) files the session under the user too", async () => {
    const { manager } = setup();
    const session = manager.open(null);
    await login(session, { id: 5 });
    await manager.commit(session, 200);
    assert.equal((await manager.listSessions(5)).length, 1);
  });

  test('setUser(null) takes the session out of the index', async () => {
    const { manager, signIn } = setup();
    const cookie = await signIn('42', 'Firefox');
    const session = manager.open(cookie);
    await session.setUser(null);
    await manager.commit(session, 200);
    assert.deepEqual(await manager.listSessions('42'), []);
    assert.deepEqual(await session.keys(), []);
  });

  test('a store with no user index says so, naming the store', () => {
    const manager = new SessionManager({ store: new SignedCookieStore(), secret: SECRET });
    assert.throws(
      () => manager.listSessions('42'),
      (error: unknown) =>
        error instanceof ImproperlyConfigured &&
        /SignedCookieStore keeps no index/.test(error.message),
    );
  });
});
