import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateError, StoreError, UpdateError } from '../../src/core/errors.js';
import { sessionKeyTag } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionOptions } from '../../src/core/session-options.js';
import type { SessionMerge, SessionRecord } from '../../src/core/session-store.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { testClock } from '../support/test-clock.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
/** Seconds: short, so a hung call fails fast. */
const TIMEOUT = 0.05;

type Operation = 'load' | 'create' | 'save' | 'update' | 'delete' | 'exists';

/** A MemoryStore whose operations can hang (never settle) or fail with a given error. */
class FaultyStore extends MemoryStore {
  // It stands for a remote store, whose calls can hang.
  override readonly inProcess = false;
  readonly hang = new Set<Operation>();
  readonly fail = new Map<Operation, (sessionKey: string) => unknown>();
  /** Settles every hung call, long after the manager gave up on it: with an error, if given. */
  #held: ((error?: Error) => void)[] = [];

  release(error?: Error): void {
    for (const settle of this.#held.splice(0)) settle(error);
  }

  async #fault(operation: Operation, sessionKey: string): Promise<void> {
    const failure = this.fail.get(operation);
    if (failure) throw failure(sessionKey);
    if (this.hang.has(operation)) {
      await new Promise<void>((resolve, reject) =>
        this.#held.push((error) => (error ? reject(error) : resolve())),
      );
    }
  }

  override async load(sessionKey: string) {
    await this.#fault('load', sessionKey);
    return super.load(sessionKey);
  }
  override async create(record: SessionRecord) {
    await this.#fault('create', record.sessionKey);
    return super.create(record);
  }
  override async save(record: SessionRecord) {
    await this.#fault('save', record.sessionKey);
    return super.save(record);
  }
  override async update(sessionKey: string, merge: SessionMerge) {
    await this.#fault('update', sessionKey);
    return super.update(sessionKey, merge);
  }
  override async delete(sessionKey: string) {
    await this.#fault('delete', sessionKey);
    return super.delete(sessionKey);
  }
  override async exists(sessionKey: string) {
    await this.#fault('exists', sessionKey);
    return super.exists(sessionKey);
  }
}

function setup(options: Partial<SessionOptions> = {}) {
  const clock = testClock();
  const store = new FaultyStore({ clock });
  const warnings: string[] = [];
  const manager = new SessionManager({
    store,
    secret: SECRET,
    clock,
    storeTimeout: TIMEOUT,
    logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details)}`) },
    ...options,
  });
  const login = async (data: Record<string, unknown> = { user: 'ann' }) => {
    const session = manager.open(null);
    await session.update(data);
    await manager.commit(session, 200);
    return session.sessionKey ?? '';
  };
  return { clock, store, manager, warnings, login };
}

describe('storeTimeout: every store call of a session is bounded', () => {
  const calls: [Operation, (manager: SessionManager, key: string) => Promise<unknown>][] = [
    ['load', (m, key) => m.open(`sessionid=${key}`).get('user')],
    [
      'create',
      async (m) => {
        const session = m.open(null);
        await session.set('user', 'bob');
        return session.save();
      },
    ],
    [
      'save',
      async (m, key) => {
        const session = m.open(`sessionid=${key}`);
        // Emptied first: the whole data replaces the stored data, so no merge.
        await session.clear();
        await session.set('user', 'bob');
        return m.commit(session, 200);
      },
    ],
    [
      'update',
      async (m, key) => {
        const session = m.open(`sessionid=${key}`);
        await session.set('user', 'bob');
        return m.commit(session, 200);
      },
    ],
    ['delete', (m, key) => m.open(`sessionid=${key}`).deleteRecord()],
    ['exists', (m, key) => m.open(null).exists(key)],
  ];
  for (const [operation, run] of calls) {
    test(`a ${operation} that never answers is a StoreError naming the store, not the key`, async () => {
      const { store, manager, login } = setup();
      const key = await login();
      store.hang.add(operation);
      try {
        await assert.rejects(run(manager, key), (error: unknown) => {
          assert.ok(error instanceof StoreError, String(error));
          assert.equal(error.status, 503);
          assert.match(error.message, /FaultyStore did not .* within 0\.05 seconds \(storeTimeout/);
          if (operation !== 'create') {
            assert.ok(error.message.includes(`session ${sessionKeyTag(key, SECRET)}`));
          }
          assert.ok(!error.message.includes(key));
          return true;
        });
      } finally {
        store.hang.clear();
        store.release();
      }
    });
  }

  test('a hung call that fails after the timeout is not an unhandled rejection', async () => {
    const { store, manager, login } = setup();
    const key = await login();
    let unhandled = 0;
    const count = () => {
      unhandled++;
    };
    process.on('unhandledRejection', count);
    try {
      store.hang.add('load');
      await assert.rejects(manager.open(`sessionid=${key}`).get('user'), StoreError);
      store.release(new Error('the connection finally broke'));
      // Two turns of the event loop: the late rejection has been seen, or handled, by then.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(unhandled, 0);
    } finally {
      process.off('unhandledRejection', count);
    }
  });

  test('a call that answers in time is untouched, and its result used', async () => {
    const { manager, login } = setup();
    const key = await login({ user: 'cy' });
    assert.equal(await manager.open(`sessionid=${key}`).get('user'), 'cy');
  });

  test('defaults to 5 seconds; anything but a positive number of seconds is refused', () => {
    const store = new MemoryStore();
    assert.equal(new SessionManager({ store, secret: SECRET }).options.storeTimeout, 5);
    for (const storeTimeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 3e6, '5']) {
      assert.throws(
        () => new SessionManager({ store, secret: SECRET, storeTimeout } as SessionOptions),
        (error: Error) =>
          error instanceof ImproperlyConfigured && /`storeTimeout`/.test(error.message),
      );
    }
  });
});

describe('no session key in what a store throws', () => {
  test("a driver's message quoting the key (MySQL's duplicate entry, pg's detail) is scrubbed", async () => {
    const { store, manager, login } = setup();
    const key = await login();
    store.fail.set('update', (sessionKey) => {
      const driver = Object.assign(new Error(`Duplicate entry '${sessionKey}' for key 'PRIMARY'`), {
        detail: `Key (session_key)=(${sessionKey}) already exists.`,
        code: 'ER_DUP_ENTRY',
      });
      return new StoreError(`keepstate: MysqlStore could not save a session: ${driver.message}`, {
        cause: driver,
      });
    });
    const session = manager.open(`sessionid=${key}`);
    await session.set('user', 'dee');
    const error = await Promise.resolve(manager.commit(session, 200)).then(
      () => assert.fail('the save must fail'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof StoreError);
    const tag = `[session ${sessionKeyTag(key, SECRET)}]`;
    assert.ok(error.message.includes(tag), error.message);
    const cause = error.cause as Error & { detail: string };
    for (const text of [error.message, error.stack, cause.message, cause.stack, cause.detail]) {
      assert.ok(!String(text).includes(key), String(text));
    }
  });

  test('CreateError and UpdateError keep their type and lose the key', async () => {
    const { store, manager, login } = setup();
    const key = await login();
    store.fail.set('update', (sessionKey) => new UpdateError(`Session ${sessionKey} is gone`));
    const session = manager.open(`sessionid=${key}`);
    await session.set('user', 'eve');
    await assert.rejects(session.save(), (error: unknown) => {
      assert.ok(error instanceof UpdateError);
      assert.ok(!error.message.includes(key));
      return true;
    });
    store.fail.set('create', (sessionKey) => new CreateError(`${sessionKey} is taken`));
    const fresh = manager.open(null);
    await fresh.set('user', 'eve');
    await assert.rejects(fresh.save(), CreateError);
  });

  test("the stores' own CreateError and UpdateError messages name no key", async () => {
    const store = new MemoryStore();
    const record = {
      sessionKey: 'k'.repeat(32),
      data: {},
      expiresAt: new Date(Date.now() + 60_000),
    };
    await store.create(record);
    await assert.rejects(store.create(record), (error: Error) => !error.message.includes('kkkkkk'));
    await store.delete(record.sessionKey);
    await assert.rejects(store.save(record), (error: Error) => !error.message.includes('kkkkkk'));
  });
});

describe('failOpen', () => {
  test('off by default: a failing load is a StoreError for the request (503)', async () => {
    const { store, manager, login } = setup();
    const key = await login();
    store.fail.set('load', () => new StoreError('down'));
    await assert.rejects(manager.open(`sessionid=${key}`).get('user'), StoreError);
  });

  test('a failing or hung load gives an anonymous session; its cookie is neither deleted nor replaced', async () => {
    for (const fault of ['fail', 'hang'] as const) {
      const { store, manager, warnings, login } = setup({ failOpen: true });
      const key = await login({ user: 'ann' });
      if (fault === 'fail') store.fail.set('load', () => new StoreError('down'));
      else store.hang.add('load');
      const session = manager.open(`sessionid=${key}`);
      assert.equal(await session.get('user'), undefined, fault);
      assert.equal(session.sessionKey, null);
      assert.equal(session.storeFailed, true);
      await session.set('cart', ['book']);
      assert.deepEqual(await manager.commit(session, 200), {
        setCookie: null,
        vary: true,
        cacheControlPrivate: false,
      });
      assert.equal(warnings.length, 1, fault);
      assert.match(warnings[0] ?? '', /^Session store failed: serving an anonymous session/);
      assert.ok(!warnings[0]?.includes(key));
      store.fail.clear();
      store.hang.clear();
      store.release();
      assert.deepEqual(
        (await store.load(key))?.data,
        { user: 'ann' },
        'the real session is intact',
      );
    }
  });

  test('a failing save at the end of the request: no cookie, logged, not an error', async () => {
    const { store, manager, warnings } = setup({ failOpen: true });
    store.fail.set('create', () => new StoreError('down'));
    const session = manager.open(null);
    await session.set('cart', ['book']);
    const outcome = await manager.commit(session, 200);
    assert.equal(outcome.setCookie, null);
    assert.equal(store.size, 0);
    assert.match(warnings.join('\n'), /the session was not saved \(failOpen\)/);
  });

  test('under saveEveryRequest, an untouched session whose load fails is not replaced by a new one', async () => {
    const { store, manager, login } = setup({ failOpen: true, saveEveryRequest: true });
    const key = await login({ user: 'ann' });
    const size = store.size;
    store.fail.set('load', () => new StoreError('down'));
    const outcome = await manager.commit(manager.open(`sessionid=${key}`), 200);
    assert.equal(outcome.setCookie, null);
    assert.equal(store.size, size, 'no new session was created');
  });

  test("a handler's own logout still fails: it must not look done while the record survives", async () => {
    const { store, manager, login } = setup({ failOpen: true });
    const key = await login();
    const session = manager.open(`sessionid=${key}`);
    assert.equal(await session.get('user'), 'ann');
    store.fail.set('delete', () => new StoreError('down'));
    await assert.rejects(session.flush(), StoreError);
  });

  test('only a StoreError fails open: a bug in a store still surfaces', async () => {
    const { store, manager, login } = setup({ failOpen: true });
    const key = await login();
    store.fail.set('load', () => new TypeError('a bug'));
    await assert.rejects(manager.open(`sessionid=${key}`).get('user'), TypeError);
  });
});

describe('cacheControlPrivate', () => {
  test('off by default; on, it is asked for exactly when the session cookie is set or deleted', async () => {
    const off = setup();
    const plain = off.manager.open(null);
    await plain.set('a', 1);
    assert.equal((await off.manager.commit(plain, 200)).cacheControlPrivate, false);

    const { manager, login } = setup({ cacheControlPrivate: true });
    const set = manager.open(null);
    await set.set('a', 1);
    assert.equal((await manager.commit(set, 200)).cacheControlPrivate, true);
    const key = await login();
    const read = manager.open(`sessionid=${key}`);
    await read.get('user');
    assert.equal((await manager.commit(read, 200)).cacheControlPrivate, false);
    const out = manager.open(`sessionid=${key}`);
    await out.flush();
    const deleted = await manager.commit(out, 200);
    assert.match(deleted.setCookie ?? '', /Max-Age=0/);
    assert.equal(deleted.cacheControlPrivate, true);
  });
});
