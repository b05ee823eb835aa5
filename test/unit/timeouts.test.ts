import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionOptions } from '../../src/core/session-options.js';
import type { SessionMerge, SessionRecord } from '../../src/core/session-store.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { type TestClock, testClock } from '../support/test-clock.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

/** A MemoryStore that counts its writes. */
class CountingStore extends MemoryStore {
  writes = 0;
  override async save(record: SessionRecord) {
    this.writes++;
    return super.save(record);
  }
  override async update(sessionKey: string, merge: SessionMerge) {
    this.writes++;
    return super.update(sessionKey, merge);
  }
}

function setup(options: Partial<SessionOptions>) {
  const clock = testClock();
  const store = new CountingStore({ clock });
  const manager = new SessionManager({ store, secret: SECRET, clock, ...options });
  /** One request with `cookie` whose handler does nothing; returns the Set-Cookie, if any. */
  const visit = async (cookie: string, touch = false) => {
    const session = manager.open(cookie);
    if (touch) await session.get('user');
    return (await manager.commit(session, 200)).setCookie;
  };
  const login = async () => {
    const session = manager.open(null);
    await session.set('user', 'ann');
    await manager.commit(session, 200);
    store.writes = 0;
    return `sessionid=${session.sessionKey}`;
  };
  return { clock, store, manager, visit, login };
}

const maxAge = (setCookie: string | null) => Number(/Max-Age=(\d+)/.exec(setCookie ?? '')?.[1]);

/** Advances `clock` by `step` seconds `times` times, visiting after each step. */
async function browse(
  clock: TestClock,
  visit: () => Promise<unknown>,
  times: number,
  step: number,
) {
  for (let i = 0; i < times; i++) {
    clock.advance(step);
    await visit();
  }
}

describe('idleTimeout: the session ends after that long without a request', () => {
  test('every request pushes the expiry out again; a pause longer than it ends the session', async () => {
    const { clock, manager, visit, login } = setup({ idleTimeout: 600 });
    const cookie = await login();
    clock.advance(500);
    assert.equal(maxAge(await visit(cookie)), 600);
    clock.advance(500);
    assert.equal(await manager.open(cookie).get('user'), 'ann');
    clock.advance(601);
    assert.equal(await manager.open(cookie).get('user'), undefined);
  });

  test('it stands in for cookieAge: setting both is a configuration error', () => {
    assert.throws(
      () => setup({ idleTimeout: 600, cookieAge: 1200 }),
      (error: unknown) =>
        error instanceof ImproperlyConfigured && /`idleTimeout`.*cookieAge/.test(error.message),
    );
    assert.throws(() => setup({ idleTimeout: 0 }), /`idleTimeout` must be a positive number/);
  });
});

describe('absoluteTimeout: the session ends that long after its creation, however active', () => {
  test('an active session still ends at its absolute deadline', async () => {
    const { clock, manager, visit, login } = setup({ idleTimeout: 600, absoluteTimeout: 3600 });
    const cookie = await login();
    await browse(clock, () => visit(cookie), 11, 300);
    assert.equal(await manager.open(cookie).get('user'), 'ann');
    clock.advance(300);
    // 3600 seconds after creation, with a request every 300 seconds.
    const session = manager.open(cookie);
    assert.equal(await session.get('user'), undefined);
    assert.equal(session.sessionKey, null);
  });

  test("the cookie's Max-Age and the stored expiry never reach past the deadline", async () => {
    const { clock, store, manager, visit, login } = setup({
      idleTimeout: 600,
      absoluteTimeout: 1000,
    });
    const cookie = await login();
    clock.advance(500);
    assert.equal(maxAge(await visit(cookie)), 500);
    clock.advance(200);
    assert.equal(maxAge(await visit(cookie)), 300);
    const record = await store.load(cookie.slice('sessionid='.length));
    assert.equal(record?.expiresAt.getTime(), clock().getTime() + 300_000);
    assert.equal(await manager.open(cookie).get('user'), 'ann');
  });

  test('a login (cycleKey) starts the absolute timeout again', async () => {
    const { clock, manager, login } = setup({ absoluteTimeout: 1000 });
    const cookie = await login();
    clock.advance(900);
    const session = manager.open(cookie);
    await session.cycleKey();
    await manager.commit(session, 200);
    clock.advance(900);
    assert.equal(await manager.open(`sessionid=${session.sessionKey}`).get('user'), 'ann');
  });

  test('the creation time is kept in the data as _keepstate_created, seconds since the epoch', async () => {
    const { clock, manager, login } = setup({ absoluteTimeout: 1000 });
    const created = Math.floor(clock().getTime() / 1000);
    const cookie = await login();
    assert.equal(await manager.open(cookie).get('_keepstate_created'), created);
  });
});

describe('touchAfter: rolling sessions without a write per request', () => {
  test('writes happen once per touchAfter, not per request: counted', async () => {
    const rolling = setup({ saveEveryRequest: true });
    const touching = setup({ saveEveryRequest: true, touchAfter: 60 });
    for (const { clock, visit, login } of [rolling, touching]) {
      const cookie = await login();
      // One request every 10 seconds for 10 minutes.
      await browse(clock, () => visit(cookie), 60, 10);
    }
    assert.equal(rolling.store.writes, 60);
    assert.equal(touching.store.writes, 10);
  });

  test('a skipped touch sends no cookie; a due one refreshes store and cookie', async () => {
    const { clock, store, visit, login } = setup({ idleTimeout: 600, touchAfter: 60 });
    const cookie = await login();
    clock.advance(30);
    assert.equal(await visit(cookie), null);
    assert.equal(store.writes, 0);
    clock.advance(31);
    assert.equal(maxAge(await visit(cookie)), 600);
    assert.equal(store.writes, 1);
    const record = await store.load(cookie.slice('sessionid='.length));
    assert.equal(record?.expiresAt.getTime(), clock().getTime() + 600_000);
  });

  test('a changed session is saved at once, touchAfter or not', async () => {
    const { clock, store, manager, login } = setup({ saveEveryRequest: true, touchAfter: 60 });
    const cookie = await login();
    clock.advance(1);
    const session = manager.open(cookie);
    await session.set('cart', ['book']);
    assert.ok((await manager.commit(session, 200)).setCookie);
    assert.equal(store.writes, 1);
  });

  test('it needs a rolling session and must be shorter than the expiry age', () => {
    assert.throws(
      () => setup({ touchAfter: 60 }),
      /`touchAfter` only spaces out.*saveEveryRequest/,
    );
    assert.throws(
      () => setup({ idleTimeout: 60, touchAfter: 60 }),
      /`touchAfter` must be shorter than the expiry age \(60 seconds of idleTimeout\)/,
    );
  });
});
