import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpdateError } from '../../src/core/errors.js';
import { Session, type SessionSettings } from '../../src/core/session.js';
import type { SessionMerge, SessionRecord } from '../../src/core/session-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { type TestClock, testClock } from '../support/test-clock.js';

/** A MemoryStore that counts the calls each method gets. */
class CountingStore extends MemoryStore {
  readonly calls: Record<string, number> = { load: 0, create: 0, save: 0, update: 0, delete: 0 };
  override async load(key: string) {
    this.calls.load!++;
    return super.load(key);
  }
  override async create(record: SessionRecord) {
    this.calls.create!++;
    return super.create(record);
  }
  override async save(record: SessionRecord) {
    this.calls.save!++;
    return super.save(record);
  }
  override async update(key: string, merge: SessionMerge) {
    this.calls.update!++;
    return super.update(key, merge);
  }
  override async delete(key: string) {
    this.calls.delete!++;
    return super.delete(key);
  }
}

interface Fixture {
  clock: TestClock;
  store: CountingStore;
  settings: SessionSettings;
  /** A session on a new record holding `data`. */
  existing(data: Record<string, unknown>): Promise<Session>;
}

function fixture(overrides: Partial<SessionSettings> = {}): Fixture {
  const clock = testClock();
  const store = new CountingStore({ clock });
  const settings: SessionSettings = {
    store,
    clock,
    cookieAge: 1_209_600,
    expireAtBrowserClose: false,
    ...overrides,
  };
  return {
    clock,
    store,
    settings,
    async existing(data) {
      const creator = new Session(settings, null);
      await creator.update(data);
      await creator.save();
      return new Session(settings, creator.sessionKey);
    },
  };
}

describe('Session: lazy, dict-like', () => {
  test('a new session touches nothing and is empty', async () => {
    const { settings, store } = fixture();
    const session = new Session(settings, null);
    assert.equal(session.accessed, false);
    assert.equal(session.modified, false);
    assert.equal(session.isEmpty(), true);
    assert.equal(session.sessionKey, null);
    assert.deepEqual(store.calls, { load: 0, create: 0, save: 0, update: 0, delete: 0 });
  });

  test('no store round trip until the first read, and only one after it', async () => {
    const f = fixture();
    const session = await f.existing({ a: 1 });
    f.store.calls.load = 0;
    assert.equal(f.store.calls.load, 0);
    assert.deepEqual(await Promise.all([session.get('a'), session.get('a'), session.has('a')]), [
      1,
      1,
      true,
    ]);
    assert.equal(f.store.calls.load, 1);
  });

  test('get marks accessed only, with a fallback for missing keys', async () => {
    const session = await fixture().existing({ a: 1 });
    assert.equal(await session.get('a'), 1);
    assert.equal(await session.get('missing'), undefined);
    assert.equal(await session.get('missing', 'fallback'), 'fallback');
    assert.equal(session.accessed, true);
    assert.equal(session.modified, false);
  });

  test('set, has, delete', async () => {
    const session = await fixture().existing({});
    await session.set('a', 1);
    assert.equal(session.modified, true);
    assert.equal(await session.has('a'), true);
    assert.equal(await session.delete('a'), true);
    assert.equal(await session.has('a'), false);
    assert.equal(await session.delete('a'), false);
  });

  test('delete of a missing key does not mark modified', async () => {
    const session = await fixture().existing({ a: 1 });
    assert.equal(await session.delete('nope'), false);
    assert.equal(session.modified, false);
  });

  test('pop returns and removes; a missing key with a fallback changes nothing', async () => {
    const session = await fixture().existing({ a: 1 });
    assert.equal(await session.pop('missing', 'd'), 'd');
    assert.equal(await session.pop('missing'), undefined);
    assert.equal(session.modified, false);
    assert.equal(await session.pop('a'), 1);
    assert.equal(session.modified, true);
    assert.equal(await session.has('a'), false);
  });

  test('setDefault keeps an existing value and stores a missing one', async () => {
    const session = await fixture().existing({ a: 1 });
    assert.equal(await session.setDefault('a', 2), 1);
    assert.equal(session.modified, false);
    assert.equal(await session.setDefault('b', 3), 3);
    assert.equal(session.modified, true);
    assert.equal(await session.get('b'), 3);
  });

  test('update, keys, values, items', async () => {
    const session = await fixture().existing({ a: 1 });
    await session.update({ b: 2, c: [3] });
    assert.equal(session.modified, true);
    assert.deepEqual(await session.keys(), ['a', 'b', 'c']);
    assert.deepEqual(await session.values(), [1, 2, [3]]);
    assert.deepEqual(await session.items(), [
      ['a', 1],
      ['b', 2],
      ['c', [3]],
    ]);
  });

  test('clear empties the data without loading it and keeps the key', async () => {
    const f = fixture();
    const session = await f.existing({ a: 1 });
    const key = session.sessionKey;
    f.store.calls.load = 0;
    await session.clear();
    assert.equal(f.store.calls.load, 0);
    assert.deepEqual(await session.items(), []);
    assert.equal(session.sessionKey, key);
    assert.equal(session.accessed, true);
    assert.equal(session.modified, true);
  });

  test('prototype names are plain keys: no pollution, no inherited hits', async () => {
    const session = await fixture().existing({});
    assert.equal(await session.has('constructor'), false);
    assert.equal(await session.get('toString'), undefined);
    await session.update(JSON.parse('{"__proto__": {"polluted": true}}'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('__proto__ set, defaulted or updated is data of its own, not the prototype', async () => {
    const f = fixture();
    const session = new Session(f.settings, null);
    await session.set('__proto__', { polluted: true });
    await session.update(JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}'));
    await session.setDefault('hasOwnProperty', 3);
    assert.deepEqual(await session.get('__proto__'), { x: 1 });
    assert.equal(await session.get('constructor'), 2);
    assert.equal(await session.get('polluted'), undefined, 'nothing inherited through it');
    assert.deepEqual(await session.keys(), ['__proto__', 'constructor', 'hasOwnProperty']);
    await session.save();
    const again = new Session(f.settings, session.sessionKey);
    assert.deepEqual(await again.get('__proto__'), { x: 1 }, 'and it is stored');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('typed data through a generic', async () => {
    const f = fixture();
    const session = new Session<{ name: string; visits: number }>(f.settings, null);
    await session.set('name', 'alice');
    const name: string | undefined = await session.get('name');
    const visits: number = await session.get('visits', 0);
    assert.equal(name, 'alice');
    assert.equal(visits, 0);
  });
});

describe('Session: keys and records', () => {
  test('an unknown key is never adopted: saving issues a new key', async () => {
    const f = fixture();
    const planted = 'abcdefghijklmnopqrstuvwxyz012345';
    const session = new Session(f.settings, planted);
    assert.deepEqual(await session.items(), []);
    assert.equal(session.sessionKey, null);
    await session.set('a', 1);
    await session.save();
    assert.notEqual(session.sessionKey, planted);
    assert.match(session.sessionKey ?? '', /^[a-z0-9]{32}$/);
    assert.equal(await f.store.exists(planted), false);
  });

  test('save creates the first time and updates afterwards', async () => {
    const f = fixture();
    const session = new Session(f.settings, null);
    await session.set('a', 1);
    await session.save();
    const key = session.sessionKey;
    await session.set('a', 2);
    await session.save();
    assert.equal(session.sessionKey, key);
    // The second save merges this request's change into the stored record.
    assert.deepEqual(f.store.calls, { load: 0, create: 1, save: 0, update: 1, delete: 0 });
    assert.deepEqual((await f.store.load(key!))?.data, { a: 2 });
  });

  test('save of a record deleted meanwhile is an UpdateError, and nothing is re-created', async () => {
    const f = fixture();
    const session = await f.existing({ a: 1 });
    await session.set('a', 2);
    await f.store.delete(session.sessionKey!);
    await assert.rejects(session.save(), UpdateError);
    assert.equal(f.store.size, 0);
  });

  test('an untouched session whose record vanished cannot be saved back either', async () => {
    const f = fixture();
    const session = await f.existing({ a: 1 });
    await f.store.delete(session.sessionKey!);
    await assert.rejects(session.save(), UpdateError);
    assert.equal(f.store.size, 0);
  });

  test('flush deletes the record and leaves no key and no data', async () => {
    const f = fixture();
    const session = await f.existing({ user: 'bob' });
    const key = session.sessionKey!;
    await session.flush();
    assert.equal(session.sessionKey, null);
    assert.equal(session.isEmpty(), true);
    assert.deepEqual(await session.items(), []);
    assert.equal(await f.store.exists(key), false);
  });

  test('cycleKey keeps the data under a new key and kills the old one at once', async () => {
    const f = fixture();
    const session = await f.existing({ user: 'carol' });
    const oldKey = session.sessionKey!;
    await session.cycleKey();
    const newKey = session.sessionKey!;
    assert.notEqual(newKey, oldKey);
    assert.equal(await f.store.exists(oldKey), false);
    assert.deepEqual((await f.store.load(newKey))?.data, { user: 'carol' });
    assert.equal(await session.get('user'), 'carol');
    assert.equal(session.modified, true);
  });

  test('cycleKey loads the data before dropping the old key', async () => {
    const f = fixture();
    const session = await f.existing({ user: 'dave' });
    await session.cycleKey();
    assert.deepEqual((await f.store.load(session.sessionKey!))?.data, { user: 'dave' });
  });

  test('exists and deleteRecord act on any key', async () => {
    const f = fixture();
    const session = await f.existing({ a: 1 });
    const key = session.sessionKey!;
    assert.equal(await session.exists(key), true);
    await session.deleteRecord(key);
    assert.equal(await session.exists(key), false);
  });

  test('isEmpty never loads and counts set data on a keyless session', async () => {
    const f = fixture();
    const withKey = await f.existing({});
    f.store.calls.load = 0;
    assert.equal(withKey.isEmpty(), false);
    assert.equal(f.store.calls.load, 0);
    const keyless = new Session(f.settings, null);
    await keyless.set('a', 1);
    assert.equal(keyless.isEmpty(), false);
  });

  test('the stored expiry follows the session expiry at save time', async () => {
    const f = fixture();
    const session = new Session(f.settings, null);
    await session.setExpiry(300);
    await session.save();
    f.clock.advance(299);
    assert.notEqual(await f.store.load(session.sessionKey!), null);
    f.clock.advance(1);
    assert.equal(await f.store.load(session.sessionKey!), null);
  });
});

describe('Session: Django expiry semantics', () => {
  const NOW = new Date(1_700_000_000_000);

  test('no expiry: cookie age from now, policy decides browser close', async () => {
    const session = new Session(fixture().settings, null);
    assert.equal(await session.getExpiryAge(), 1_209_600);
    assert.deepEqual(await session.getExpiryDate(), new Date(NOW.getTime() + 1_209_600_000));
    assert.equal(await session.getExpireAtBrowserClose(), false);
    const closing = new Session(fixture({ expireAtBrowserClose: true }).settings, null);
    assert.equal(await closing.getExpireAtBrowserClose(), true);
  });

  test('setExpiry(seconds): idle expiry stored as the number', async () => {
    const session = new Session(fixture({ expireAtBrowserClose: true }).settings, null);
    await session.setExpiry(300);
    assert.equal(await session.get('_session_expiry'), 300);
    assert.equal(await session.getExpiryAge(), 300);
    assert.deepEqual(await session.getExpiryDate(), new Date(NOW.getTime() + 300_000));
    assert.equal(await session.getExpireAtBrowserClose(), false);
    assert.equal(session.modified, true);
  });

  test('setExpiry(0): browser close, while the age still reports the cookie age', async () => {
    const session = new Session(fixture().settings, null);
    await session.setExpiry(0);
    assert.equal(await session.get('_session_expiry'), 0);
    assert.equal(await session.getExpireAtBrowserClose(), true);
    assert.equal(await session.getExpiryAge(), 1_209_600);
    assert.deepEqual(await session.getExpiryDate(), new Date(NOW.getTime() + 1_209_600_000));
  });

  test('setExpiry(Date): an absolute instant stored as Python isoformat', async () => {
    const f = fixture();
    const session = new Session(f.settings, null);
    await session.setExpiry(new Date(NOW.getTime() + 300_250));
    assert.equal(await session.get('_session_expiry'), '2023-11-14T22:18:20.250000+00:00');
    assert.equal(await session.getExpiryAge(), 300);
    f.clock.advance(100.5);
    assert.equal(await session.getExpiryAge(), 199, 'ages are floored');
    assert.deepEqual(await session.getExpiryDate(), new Date(NOW.getTime() + 300_250));
    assert.equal(await session.getExpireAtBrowserClose(), false);
  });

  test('a Django datetime string round-trips to the microsecond and keeps its offset', async () => {
    const f = fixture();
    const creator = new Session(f.settings, null);
    await creator.set('_session_expiry', '2023-11-15T00:18:20.250001+02:00');
    await creator.save();
    const session = new Session(f.settings, creator.sessionKey);
    assert.equal(await session.get('_session_expiry'), '2023-11-15T00:18:20.250001+02:00');
    assert.equal(await session.getExpiryAge(), 300);
    assert.equal(
      await session.getExpiryAge({ modification: new Date(NOW.getTime() + 300_250) }),
      0,
    );
    assert.equal(
      await session.getExpiryAge({ modification: new Date(NOW.getTime() + 300_251) }),
      -1,
    );
  });

  test('a past instant gives a negative age', async () => {
    const session = new Session(fixture().settings, null);
    await session.setExpiry(new Date(NOW.getTime() - 10_000));
    assert.equal(await session.getExpiryAge(), -10);
  });

  test('setExpiry(null) falls back to the global policy', async () => {
    const session = await fixture({ expireAtBrowserClose: true }).existing({
      _session_expiry: 300,
    });
    await session.setExpiry(null);
    assert.equal(await session.has('_session_expiry'), false);
    assert.equal(await session.getExpireAtBrowserClose(), true);
    assert.equal(await session.getExpiryAge(), 1_209_600);
    assert.equal(session.modified, true);
  });

  test('setExpiry(null) without an expiry set does not mark modified', async () => {
    const session = await fixture().existing({ a: 1 });
    await session.setExpiry(null);
    assert.equal(session.modified, false);
  });

  test("getExpiryAge/getExpiryDate take Django's modification and expiry arguments", async () => {
    const session = new Session(fixture().settings, null);
    const modification = new Date(NOW.getTime() + 1000);
    assert.equal(await session.getExpiryAge({ modification }), 1_209_600);
    assert.equal(await session.getExpiryAge({ expiry: 60 }), 60);
    assert.equal(await session.getExpiryAge({ expiry: null }), 1_209_600);
    assert.equal(
      await session.getExpiryAge({ modification, expiry: new Date(NOW.getTime() + 61_000) }),
      60,
    );
    assert.deepEqual(
      await session.getExpiryDate({ modification, expiry: 60 }),
      new Date(NOW.getTime() + 61_000),
    );
    assert.deepEqual(
      await session.getExpiryDate({ expiry: '2023-11-14T22:18:20+00:00' }),
      new Date(NOW.getTime() + 300_000),
    );
  });

  test('a negative number of seconds expires the session at once', async () => {
    const f = fixture();
    const session = new Session(f.settings, null);
    await session.setExpiry(-10);
    await session.save();
    assert.equal(await f.store.load(session.sessionKey!), null);
  });
});
