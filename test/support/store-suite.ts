import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateError, UpdateError } from '../../src/core/errors.js';
import { generateSessionKey } from '../../src/core/session-key.js';
import type { SessionData, SessionRecord, SessionStore } from '../../src/core/session-store.js';
import type { TestClock } from './test-clock.js';
import { testClock } from './test-clock.js';

/** How the suite gets a fresh, empty store on a clock it controls. */
export type StoreFactory = (clock: TestClock) => Promise<SessionStore> | SessionStore;

const DATA: SessionData = {
  name: 'Zoë',
  nested: { list: [1, 2.5, 'three', null, true], deeper: { ok: false } },
  chinese: '游客',
  emoji: '😀 beyond the BMP',
};

function record(data: SessionData, clock: TestClock, ageSeconds = 1_209_600): SessionRecord {
  return {
    sessionKey: generateSessionKey(),
    data,
    expiresAt: new Date(clock().getTime() + ageSeconds * 1000),
  };
}

// Redis and memcached drop a record when their own clock reaches its TTL; a test clock cannot move
// theirs, so the tests that need expiry to happen skip such stores. Their own tests check the TTL
// they write instead.
const EXPIRES_BY_ITSELF =
  "the backend expires records on its own clock, which the test clock cannot move; the store's own tests check the TTL it writes";

/**
 * The store contract, run against every server-side store (modelled on Django's
 * `SessionTestsMixin`): each test gets a fresh store and clock from `factory`.
 */
export function storeSuite(name: string, factory: StoreFactory): void {
  const setup = async () => {
    const clock = testClock();
    return { clock, store: await factory(clock) };
  };

  describe(`${name}: the SessionStore contract`, () => {
    test('load of an unknown key is null', async () => {
      const { store } = await setup();
      assert.equal(await store.load(generateSessionKey()), null);
    });

    test('create then load round-trips data and expiry', async () => {
      const { store, clock } = await setup();
      const rec = record(DATA, clock);
      assert.equal(await store.create(rec), rec.sessionKey);
      const loaded = await store.load(rec.sessionKey);
      assert.ok(loaded);
      assert.deepEqual(loaded.data, DATA);
      assert.equal(loaded.sessionKey, rec.sessionKey);
      assert.equal(
        Math.floor(loaded.expiresAt.getTime() / 1000),
        Math.floor(rec.expiresAt.getTime() / 1000),
      );
    });

    test('create refuses a key that is taken', async () => {
      const { store, clock } = await setup();
      const rec = record({ a: 1 }, clock);
      await store.create(rec);
      await assert.rejects(store.create({ ...rec, data: { a: 2 } }), CreateError);
      assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1 });
    });

    test('save replaces the data of an existing record', async () => {
      const { store, clock } = await setup();
      const rec = record({ a: 1 }, clock);
      await store.create(rec);
      assert.equal(await store.save({ ...rec, data: { b: 2 } }), rec.sessionKey);
      assert.deepEqual((await store.load(rec.sessionKey))?.data, { b: 2 });
    });

    test('save of a missing record is an UpdateError and creates nothing', async () => {
      const { store, clock } = await setup();
      const rec = record({ a: 1 }, clock);
      await assert.rejects(store.save(rec), UpdateError);
      assert.equal(await store.load(rec.sessionKey), null);
    });

    test('delete removes the record; deleting a missing one is fine', async () => {
      const { store, clock } = await setup();
      const rec = record({ a: 1 }, clock);
      await store.create(rec);
      await store.delete(rec.sessionKey);
      assert.equal(await store.load(rec.sessionKey), null);
      assert.equal(await store.exists(rec.sessionKey), false);
      await store.delete(rec.sessionKey);
    });

    test('a deleted record cannot be saved back (a logout wins)', async () => {
      const { store, clock } = await setup();
      const rec = record({ a: 1 }, clock);
      await store.create(rec);
      await store.delete(rec.sessionKey);
      await assert.rejects(store.save(rec), UpdateError);
    });

    test('exists tells live records from missing ones', async () => {
      const { store, clock } = await setup();
      const rec = record({}, clock);
      assert.equal(await store.exists(rec.sessionKey), false);
      await store.create(rec);
      assert.equal(await store.exists(rec.sessionKey), true);
    });

    test('a record is gone at exactly its expiry instant, not a second before', async (t) => {
      const { store, clock } = await setup();
      if (store.selfExpiring === true) return t.skip(EXPIRES_BY_ITSELF);
      const rec = record({ a: 1 }, clock, 300);
      await store.create(rec);
      clock.advance(299);
      assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1 });
      clock.advance(1);
      assert.equal(await store.load(rec.sessionKey), null);
      assert.equal(await store.exists(rec.sessionKey), false);
    });

    test('an expired key can be created again', async (t) => {
      const { store, clock } = await setup();
      if (store.selfExpiring === true) return t.skip(EXPIRES_BY_ITSELF);
      const rec = record({ a: 1 }, clock, 10);
      await store.create(rec);
      clock.advance(11);
      await store.create({
        ...rec,
        data: { a: 2 },
        expiresAt: new Date(clock().getTime() + 10_000),
      });
      assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 2 });
    });

    test('clearExpired deletes expired records and keeps live ones', async (t) => {
      const { store, clock } = await setup();
      if (store.selfExpiring === true) return t.skip(EXPIRES_BY_ITSELF);
      const short = record({ s: 1 }, clock, 10);
      const long = record({ l: 1 }, clock, 1000);
      await store.create(short);
      await store.create(long);
      clock.advance(11);
      await store.clearExpired();
      clock.advance(-11);
      assert.equal(await store.load(short.sessionKey), null);
      assert.deepEqual((await store.load(long.sessionKey))?.data, { l: 1 });
    });

    test('a record whose expiresAt has passed is never loaded', async () => {
      const { store, clock } = await setup();
      const past = record({ a: 1 }, clock, -1);
      await store.create(past);
      assert.equal(await store.load(past.sessionKey), null);
      const live = record({ a: 1 }, clock);
      await store.create(live);
      await store.save({ ...live, expiresAt: new Date(clock().getTime() - 1000) });
      assert.equal(await store.load(live.sessionKey), null);
    });

    test('list gives the live records, up to its limit, and never an expired one', async (t) => {
      const { store, clock } = await setup();
      if (store.list === undefined) return t.skip('the store cannot enumerate its records');
      const live = [record({ n: 1 }, clock), record({ n: 2 }, clock, 600), record(DATA, clock, 60)];
      for (const rec of live) await store.create(rec);
      await store.create(record({ n: 4 }, clock, -1));
      const listed = await store.list(10);
      const view = (records: SessionRecord[]) =>
        records
          .map((r) => [r.sessionKey, r.data, Math.floor(r.expiresAt.getTime() / 1000)] as const)
          .sort(([a], [b]) => a.localeCompare(b));
      assert.deepEqual(view(listed), view(live));
      assert.equal((await store.list(2)).length, 2);
      assert.deepEqual(await store.list(0), []);
      await assert.rejects(store.list(-1), RangeError);
    });

    test('loaded data is a copy: changing it changes nothing stored', async () => {
      const { store, clock } = await setup();
      const rec = record({ list: [1] }, clock);
      await store.create(rec);
      const first = await store.load(rec.sessionKey);
      assert.ok(first);
      (first.data.list as number[]).push(2);
      assert.deepEqual((await store.load(rec.sessionKey))?.data, { list: [1] });
    });
  });
}
