import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateError, UpdateError } from '../../src/core/errors.js';
import { generateSessionKey, sessionKeyHash } from '../../src/core/session-key.js';
import type {
  SessionData,
  SessionMerge,
  SessionRecord,
  SessionStore,
} from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import type { TestClock } from './test-clock.js';
import { testClock } from './test-clock.js';

const USER_KEY = USER_SESSION_KEYS.userId;

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

  describe(`${name}: update merges into the latest data`, () => {
    // A merge as the core makes it: this request's changes on top of whatever is stored now.
    const merging =
      (rec: SessionRecord, changes: SessionData, removed: string[] = []): SessionMerge =>
      (latest) => {
        const data = { ...latest, ...changes };
        for (const key of removed) delete data[key];
        return { ...rec, data };
      };

    test('update applies the changes to the stored data', async (t) => {
      const { store, clock } = await setup();
      if (store.update === undefined) return t.skip('the store has no atomic update');
      const rec = record({ a: 1, gone: true }, clock);
      await store.create(rec);
      assert.equal(
        await store.update(rec.sessionKey, merging(rec, { b: 2 }, ['gone'])),
        rec.sessionKey,
      );
      assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1, b: 2 });
    });

    test('update of a missing record is an UpdateError and creates nothing', async (t) => {
      const { store, clock } = await setup();
      if (store.update === undefined) return t.skip('the store has no atomic update');
      const rec = record({ a: 1 }, clock);
      await assert.rejects(store.update(rec.sessionKey, merging(rec, { b: 2 })), UpdateError);
      assert.equal(await store.load(rec.sessionKey), null);
    });

    test('twenty concurrent updates, each setting its own key, keep all twenty', async (t) => {
      const { store, clock } = await setup();
      if (store.update === undefined) return t.skip('the store has no atomic update');
      const rec = record({ start: true }, clock);
      await store.create(rec);
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      await Promise.all(
        keys.map((key) => store.update?.(rec.sessionKey, merging(rec, { [key]: key }))),
      );
      const data = (await store.load(rec.sessionKey))?.data;
      assert.deepEqual(Object.keys(data ?? {}).sort(), ['start', ...keys].sort());
    });

    test('concurrent updates of one key end with one of the values', async (t) => {
      const { store, clock } = await setup();
      if (store.update === undefined) return t.skip('the store has no atomic update');
      const rec = record({ x: 'start' }, clock);
      await store.create(rec);
      const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
      await Promise.all(values.map((x) => store.update?.(rec.sessionKey, merging(rec, { x }))));
      const data = (await store.load(rec.sessionKey))?.data;
      assert.ok(values.includes(data?.x as string), `x is ${String(data?.x)}`);
      assert.deepEqual(Object.keys(data ?? {}), ['x']);
    });

    test('a delete racing updates wins: the record stays deleted', async (t) => {
      const { store, clock } = await setup();
      if (store.update === undefined) return t.skip('the store has no atomic update');
      const rec = record({ a: 1 }, clock);
      await store.create(rec);
      const updates = Array.from({ length: 5 }, (_, i) =>
        store.update?.(rec.sessionKey, merging(rec, { [`k${i}`]: i })),
      );
      const results = await Promise.allSettled([...updates, store.delete(rec.sessionKey)]);
      for (const result of results) {
        if (result.status === 'rejected') assert.ok(result.reason instanceof UpdateError);
      }
      assert.equal(await store.load(rec.sessionKey), null);
      await assert.rejects(store.update(rec.sessionKey, merging(rec, { late: 1 })), UpdateError);
      assert.equal(await store.load(rec.sessionKey), null);
    });

    test("a stale loaded version is refused: the merge then sees the other request's write", async (t) => {
      const { store, clock } = await setup();
      if (store.update === undefined) return t.skip('the store has no atomic update');
      const rec = record({ a: 1 }, clock);
      await store.create(rec);
      const loaded = await store.load(rec.sessionKey);
      assert.ok(loaded);
      if (loaded.version === undefined) return t.skip('the store gives no version on load');
      await store.update(rec.sessionKey, merging(rec, { other: true }));
      await store.update(rec.sessionKey, merging(rec, { mine: true }), {
        version: loaded.version,
        data: loaded.data,
      });
      assert.deepEqual((await store.load(rec.sessionKey))?.data, { a: 1, other: true, mine: true });
      // A version that is still current is taken as it is.
      const fresh = await store.load(rec.sessionKey);
      assert.ok(fresh?.version);
      await store.update(rec.sessionKey, merging(rec, { last: 1 }), {
        version: fresh.version,
        data: fresh.data,
      });
      assert.deepEqual((await store.load(rec.sessionKey))?.data, {
        a: 1,
        other: true,
        mine: true,
        last: 1,
      });
    });

    test('update writes the expiry the merge gives', async (t) => {
      const { store, clock } = await setup();
      if (store.update === undefined) return t.skip('the store has no atomic update');
      const rec = record({ a: 1 }, clock, 60);
      await store.create(rec);
      const later = new Date(clock().getTime() + 3_600_000);
      await store.update(rec.sessionKey, (latest) => ({ ...rec, data: latest, expiresAt: later }));
      const loaded = await store.load(rec.sessionKey);
      if (store.selfExpiring !== true) {
        assert.equal(
          Math.floor((loaded?.expiresAt.getTime() ?? 0) / 1000),
          Math.floor(later.getTime() / 1000),
        );
      }
      assert.deepEqual(loaded?.data, { a: 1 });
    });
  });

  describe(`${name}: a user's sessions`, () => {
    const owned = (
      clock: TestClock,
      userId: string,
      userAgent?: string,
      ageSeconds = 1_209_600,
    ): SessionRecord => ({
      ...record({ [USER_KEY]: userId }, clock, ageSeconds),
      userId,
      ...(userAgent !== undefined && { userAgent }),
    });
    const keyHashes = async (store: SessionStore, userId: string) =>
      ((await store.listSessions?.(userId)) ?? []).map((s) => s.keyHash).sort();

    test('listSessions gives each session of the user, by key hash, with its times', async (t) => {
      const { store, clock } = await setup();
      if (store.listSessions === undefined) return t.skip('the store keeps no user index');
      const created = clock();
      const first = owned(clock, 'u1', 'Firefox on Linux');
      await store.create(first);
      await store.create(owned(clock, 'u2'));
      await store.create(record({ anonymous: true }, clock));
      const [listed, ...rest] = await store.listSessions('u1');
      assert.deepEqual(rest, []);
      assert.ok(listed);
      assert.equal(listed.keyHash, sessionKeyHash(first.sessionKey));
      assert.equal(listed.userAgent, 'Firefox on Linux');
      assert.equal(
        Math.floor(listed.createdAt.getTime() / 1000),
        Math.floor(created.getTime() / 1000),
      );
      assert.equal(listed.lastActivity.getTime(), listed.createdAt.getTime());
      assert.equal(
        Math.floor(listed.expiresAt.getTime() / 1000),
        Math.floor(first.expiresAt.getTime() / 1000),
      );
      assert.deepEqual(await store.listSessions('nobody'), []);
    });

    test('a save moves lastActivity on and keeps createdAt', async (t) => {
      const { store, clock } = await setup();
      if (store.listSessions === undefined) return t.skip('the store keeps no user index');
      const rec = owned(clock, 'u1');
      await store.create(rec);
      const created = clock();
      clock.advance(120);
      await store.save({ ...rec, expiresAt: new Date(clock().getTime() + 600_000) });
      const [listed] = await store.listSessions('u1');
      assert.ok(listed);
      assert.equal(
        Math.floor(listed.createdAt.getTime() / 1000),
        Math.floor(created.getTime() / 1000),
      );
      assert.equal(
        Math.floor(listed.lastActivity.getTime() / 1000),
        Math.floor(clock().getTime() / 1000),
      );
    });

    test('an update files the session under the user the merge gives', async (t) => {
      const { store, clock } = await setup();
      if (store.listSessions === undefined || store.update === undefined) {
        return t.skip('the store keeps no user index or has no atomic update');
      }
      const rec = record({ anonymous: true }, clock);
      await store.create(rec);
      await store.update(rec.sessionKey, (latest) => ({
        ...rec,
        data: { ...latest, [USER_KEY]: 'u9' },
        userId: 'u9',
      }));
      assert.deepEqual(await keyHashes(store, 'u9'), [sessionKeyHash(rec.sessionKey)]);
    });

    test('a session whose user changed or that was deleted is no longer listed', async (t) => {
      const { store, clock } = await setup();
      if (store.listSessions === undefined) return t.skip('the store keeps no user index');
      const moved = owned(clock, 'u1');
      const deleted = owned(clock, 'u1');
      const kept = owned(clock, 'u1');
      for (const rec of [moved, deleted, kept]) await store.create(rec);
      await store.save({ ...moved, data: { [USER_KEY]: 'u2' }, userId: 'u2' });
      await store.delete(deleted.sessionKey);
      assert.deepEqual(await keyHashes(store, 'u1'), [sessionKeyHash(kept.sessionKey)]);
      assert.deepEqual(await keyHashes(store, 'u2'), [sessionKeyHash(moved.sessionKey)]);
    });

    test('an expired session is not listed', async (t) => {
      const { store, clock } = await setup();
      if (store.listSessions === undefined) return t.skip('the store keeps no user index');
      if (store.selfExpiring === true) return t.skip(EXPIRES_BY_ITSELF);
      const live = owned(clock, 'u1');
      await store.create(live);
      await store.create(owned(clock, 'u1', undefined, 60));
      clock.advance(61);
      assert.deepEqual(await keyHashes(store, 'u1'), [sessionKeyHash(live.sessionKey)]);
    });

    test('deleteUserSessions ends every session of the user but the one kept', async (t) => {
      const { store, clock } = await setup();
      if (store.deleteUserSessions === undefined) return t.skip('the store keeps no user index');
      const current = owned(clock, 'u1');
      const others = [owned(clock, 'u1'), owned(clock, 'u1', 'phone')];
      const stranger = owned(clock, 'u2');
      for (const rec of [current, ...others, stranger]) await store.create(rec);
      assert.equal(
        await store.deleteUserSessions('u1', { except: current.sessionKey }),
        others.length,
      );
      for (const rec of others) assert.equal(await store.load(rec.sessionKey), null);
      assert.ok(await store.load(current.sessionKey));
      assert.ok(await store.load(stranger.sessionKey));
      assert.deepEqual(await keyHashes(store, 'u1'), [sessionKeyHash(current.sessionKey)]);
      assert.equal(await store.deleteUserSessions('u1'), 1);
      assert.equal(await store.load(current.sessionKey), null);
      assert.deepEqual(await keyHashes(store, 'u1'), []);
      assert.equal(await store.deleteUserSessions('nobody'), 0);
    });
  });
}
