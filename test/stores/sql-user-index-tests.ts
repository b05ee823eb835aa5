import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreError, UpdateError } from '../../src/core/errors.js';
import { SessionCodec } from '../../src/core/session-codec.js';
import { sessionKeyHash } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionRecord } from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import { attach, TEST_SECRET } from '../support/attach.js';
import { type TestClock, testClock } from '../support/test-clock.js';
import type { SqlHarness } from './sql-harness.js';

const USER_KEY = USER_SESSION_KEYS.userId;
const silent = { warn() {} };

/** A record of `userId` (or an anonymous one) expiring `ageSeconds` from the clock's now. */
function recordOf(
  sessionKey: string,
  clock: TestClock,
  userId?: string,
  ageSeconds = 3_600,
): SessionRecord {
  return {
    sessionKey,
    data: userId === undefined ? { anonymous: true } : { [USER_KEY]: userId },
    expiresAt: new Date(clock().getTime() + ageSeconds * 1000),
    ...(userId !== undefined && { userId }),
  };
}

/**
 * What every SQL store shares about `update` and the user index, beyond the conformance suite:
 * the rows they leave, the index's upkeep, and a database whose index table is missing.
 */
export function sqlUserIndexTests(harness: SqlHarness): void {
  describe(`${harness.name}: update and the user index`, () => {
    test('a row written by update is Django’s encoding, with the merged expiry', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const key = 'u'.repeat(32);
      await store.create(recordOf(key, clock));
      const expiresAt = new Date('2023-11-28T22:13:20.250Z');
      await store.update?.(key, (latest) => ({
        sessionKey: key,
        data: { ...latest, name: 'Zoë' },
        expiresAt,
      }));
      const [row] = await harness.rows(store);
      assert.equal(row?.expire_date, '2023-11-28 22:13:20.250000');
      const codec = new SessionCodec({ secret: TEST_SECRET, logger: silent });
      assert.deepEqual(codec.decode(row?.session_data ?? ''), { anonymous: true, name: 'Zoë' });
    });

    test('update of an expired row is an UpdateError and leaves the row', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const key = 'v'.repeat(32);
      await store.create(recordOf(key, clock, undefined, 60));
      clock.advance(61);
      let merges = 0;
      await assert.rejects(
        store.update?.(key, (latest) => {
          merges += 1;
          return { ...recordOf(key, clock), data: latest };
        }) ?? Promise.reject(new Error('no update')),
        UpdateError,
      );
      assert.equal(merges, 0);
      assert.equal((await harness.rows(store)).length, 1);
    });

    test("an error of the merge is the caller's, not a StoreError, and writes nothing", async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const key = 'w'.repeat(32);
      await store.create(recordOf(key, clock));
      const before = await harness.rows(store);
      const bug = new TypeError('a bug in the merge');
      await assert.rejects(
        store.update?.(key, () => {
          throw bug;
        }) ?? Promise.reject(new Error('no update')),
        (error) => error === bug,
      );
      assert.deepEqual(await harness.rows(store), before);
    });

    test('migrate makes the user index table; writes with a user file, anonymous ones do not', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      assert.match(store.userTable, /_keepstate_user$/);
      await store.create(recordOf('a'.repeat(32), clock));
      await store.create({ ...recordOf('b'.repeat(32), clock, 'u1'), userAgent: 'Firefox' });
      await store.save(recordOf('a'.repeat(32), clock));
      assert.deepEqual(await harness.userRows(store), [
        { session_key: 'b'.repeat(32), user_id: 'u1', user_agent: 'Firefox' },
      ]);
      await store.delete('b'.repeat(32));
      assert.deepEqual(await harness.userRows(store), []);
    });

    test('a session saved anonymously since it was filed is not listed, nor deleted as the user’s', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const key = 'c'.repeat(32);
      await store.create(recordOf(key, clock, 'u1'));
      await store.save(recordOf(key, clock)); // the index row is left: no statement for it
      assert.equal((await harness.userRows(store)).length, 1);
      assert.deepEqual(await store.listSessions?.('u1'), []);
      assert.equal(await store.deleteUserSessions?.('u1'), 0);
      assert.deepEqual((await store.load(key))?.data, { anonymous: true });
      assert.deepEqual(await harness.userRows(store), [], 'deleteUserSessions dropped the row');
    });

    test('createdAt restarts when the user changes, and a create starts it afresh', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const key = 'd'.repeat(32);
      await store.create(recordOf(key, clock, 'u1'));
      clock.advance(60);
      await store.save(recordOf(key, clock, 'u2'));
      const [listed] = (await store.listSessions?.('u2')) ?? [];
      assert.equal(listed?.createdAt.getTime(), clock().getTime());
      assert.equal(listed?.keyHash, sessionKeyHash(key));
      // An expired session's key taken over by a create: a new session, whatever was filed.
      const old = 'e'.repeat(32);
      await store.create(recordOf(old, clock, 'u3', 10));
      clock.advance(20);
      await store.create(recordOf(old, clock, 'u3'));
      const [taken] = (await store.listSessions?.('u3')) ?? [];
      assert.equal(taken?.createdAt.getTime(), clock().getTime());
    });

    test('a long user agent is cut to 512 characters; a user id over 255 is refused', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const agent = `${'a'.repeat(511)}😀😀`;
      await store.create({ ...recordOf('f'.repeat(32), clock, 'u1'), userAgent: agent });
      const [listed] = (await store.listSessions?.('u1')) ?? [];
      assert.equal(listed?.userAgent, `${'a'.repeat(511)}😀`);
      await assert.rejects(
        store.create(recordOf('g'.repeat(32), clock, 'x'.repeat(256))),
        RangeError,
      );
    });

    test('clearExpired removes index rows whose session expired or is gone, and no others', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const [expired, gone, extended, live] = ['h', 'i', 'j', 'k'].map((c) => c.repeat(32));
      await store.create(recordOf(expired ?? '', clock, 'u1', 60));
      await store.create(recordOf(gone ?? '', clock, 'u1', 60));
      await store.create(recordOf(extended ?? '', clock, 'u1', 60));
      await store.create(recordOf(live ?? '', clock, 'u1'));
      // Django deletes one and extends another: neither touches keepstate's index.
      const table = quoted(harness, store.table);
      await harness.execute(`DELETE FROM ${table} WHERE session_key = '${gone}'`);
      await harness.execute(
        `UPDATE ${table} SET expire_date = '2099-01-01 00:00:00' WHERE session_key = '${extended}'`,
      );
      clock.advance(61);
      assert.equal(await store.clearExpired(), 1);
      assert.deepEqual(
        (await harness.userRows(store)).map((row) => row.session_key),
        [extended, live],
      );
    });

    test('without the index table: sessions are saved, one warning says to migrate, listing fails', async () => {
      const clock = testClock();
      const migrated = await harness.fresh();
      await harness.execute(`DROP TABLE ${quoted(harness, migrated.userTable)}`);
      const store = harness.reopen(migrated);
      const warnings: string[] = [];
      new SessionManager({
        store,
        secret: TEST_SECRET,
        clock,
        logger: { warn: (m) => warnings.push(m) },
      });
      const key = 'l'.repeat(32);
      await store.create(recordOf('m'.repeat(32), clock));
      await store.create(recordOf(key, clock, 'u1'));
      await store.save(recordOf(key, clock, 'u1'));
      await store.update?.(key, (latest) => ({ ...recordOf(key, clock, 'u1'), data: latest }));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0] ?? '', /keepstate migrate/);
      assert.deepEqual((await store.load(key))?.data, { [USER_KEY]: 'u1' });
      await assert.rejects(
        store.listSessions?.('u1') ?? Promise.reject(new Error('no listSessions')),
        (error: Error) => error instanceof StoreError && /migrate\(\)/.test(error.message),
      );
      assert.equal(await store.clearExpired(), 0);
      await store.delete('m'.repeat(32));
      await store.migrate();
      await store.save(recordOf(key, clock, 'u1'));
      assert.deepEqual(
        ((await store.listSessions?.('u1')) ?? []).map((s) => s.keyHash),
        [sessionKeyHash(key)],
      );
    });
  });
}

/** `name` quoted for the harness's SQL dialect. */
function quoted(harness: SqlHarness, name: string): string {
  return harness.name === 'MysqlStore' ? `\`${name}\`` : `"${name}"`;
}
