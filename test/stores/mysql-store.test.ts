import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { StoreError, UpdateError } from '../../src/core/errors.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { MysqlStore } from '../../src/stores/sql/mysql-store.js';
import { attach } from '../support/attach.js';
import { needService } from '../support/services.js';
import { testClock } from '../support/test-clock.js';
import {
  byKey,
  closedPort,
  type DjangoRow,
  djangoText,
  instantOf,
  type SqlHarness,
  silentServer,
  type UserRow,
  uniqueTable,
} from './sql-harness.js';
import { assertOutage, sqlStoreTests } from './sql-store-tests.js';

const MYSQL_URL = process.env.KEEPSTATE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const pool = mysql.createPool({ uri: MYSQL_URL, connectTimeout: 5_000, connectionLimit: 4 });

const skip = await needService(
  `MySQL/MariaDB at ${MYSQL_URL.replace(/:[^:@/]*@/, ':***@')}`,
  () => pool.query('SELECT 1'),
  'start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`, or set KEEPSTATE_TEST_MYSQL_URL',
);

const tables: string[] = [];
after(async () => {
  if (!skip) {
    for (const table of tables) {
      await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_keepstate_user\``);
    }
  }
  await pool.end();
});

/** Naive UTC text with milliseconds, as MySQL takes a DATETIME literal. */
function naiveUtc(expireDate: string): string {
  return instantOf(expireDate).toISOString().replace('T', ' ').replace('Z', '');
}

async function rowsOf(table: string, on: mysql.Pool = pool): Promise<DjangoRow[]> {
  const [rows] = await on.query(
    `SELECT session_key, session_data, DATE_FORMAT(expire_date, '%Y-%m-%d %H:%i:%s.%f') AS expire_date FROM \`${table}\``,
  );
  return (rows as DjangoRow[])
    .map((row) => ({ ...row, expire_date: djangoText(row.expire_date) }))
    .sort(byKey);
}

const harness: SqlHarness = {
  name: 'MysqlStore',
  textExpireDate: false,
  async fresh(options = {}) {
    const table = uniqueTable();
    tables.push(table);
    const store = new MysqlStore(pool, { table, ...options });
    await store.migrate();
    return store;
  },
  async insert(store, rows) {
    const values = rows.map(() => '(?, ?, ?)').join(', ');
    await pool.query(
      `INSERT INTO \`${store.table}\` (session_key, session_data, expire_date) VALUES ${values}`,
      rows.flatMap((row) => [row.session_key, row.session_data, naiveUtc(row.expire_date)]),
    );
  },
  rows: (store) => rowsOf(store.table),
  async userRows(store) {
    const [rows] = await pool.query(
      `SELECT session_key, user_id, user_agent FROM \`${store.userTable}\` ORDER BY session_key`,
    );
    return rows as UserRow[];
  },
  async execute(sql) {
    await pool.query(sql);
  },
  reopen: (store) => new MysqlStore(pool, { table: store.table }),
  async close() {},
};

describe('MysqlStore', { skip }, () => {
  sqlStoreTests(harness);

  describe('MysqlStore on its own', () => {
    test("migrate makes Django's schema, under Django's names, and is idempotent", async () => {
      // A database of our own, so the table can have its default name on a shared server.
      const database = `keepstate_${randomBytes(6).toString('hex')}`;
      await pool.query(`CREATE DATABASE \`${database}\``);
      const own = mysql.createPool({ uri: MYSQL_URL, database, connectionLimit: 1 });
      try {
        const store = new MysqlStore(own);
        await store.migrate();
        await store.migrate();
        const [columns] = await own.query(
          'SELECT column_name AS name, column_type AS type, is_nullable AS nullable, column_key AS k FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position',
          [database, 'django_session'],
        );
        assert.deepEqual(columns, [
          { name: 'session_key', type: 'varchar(40)', nullable: 'NO', k: 'PRI' },
          { name: 'session_data', type: 'longtext', nullable: 'NO', k: '' },
          { name: 'expire_date', type: 'datetime(6)', nullable: 'NO', k: 'MUL' },
        ]);
        const [indexes] = await own.query(
          'SELECT index_name AS name, column_name AS col, non_unique AS nu FROM information_schema.statistics WHERE table_schema = ? AND table_name = ? ORDER BY index_name',
          [database, 'django_session'],
        );
        assert.deepEqual(indexes, [
          { name: 'django_session_expire_date_a5c62663', col: 'expire_date', nu: 1 },
          { name: 'PRIMARY', col: 'session_key', nu: 0 },
        ]);
        const [userColumns] = await own.query(
          'SELECT column_name AS name, column_type AS type, is_nullable AS nullable, character_set_name AS cs FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position',
          [database, 'django_session_keepstate_user'],
        );
        assert.deepEqual(
          (
            userColumns as { name: string; type: string; nullable: string; cs: string | null }[]
          ).map(
            (c) =>
              `${c.name} ${c.type} ${c.nullable}${c.name.startsWith('user_') ? ` ${c.cs}` : ''}`,
          ),
          [
            'session_key varchar(40) NO',
            'user_id varchar(255) NO utf8mb4',
            'created_at datetime(6) NO',
            'last_activity datetime(6) NO',
            'expire_date datetime(6) NO',
            'user_agent varchar(512) YES utf8mb4',
          ],
        );
        const [userIndexes] = await own.query(
          'SELECT index_name AS name, column_name AS col FROM information_schema.statistics WHERE table_schema = ? AND table_name = ? ORDER BY index_name',
          [database, 'django_session_keepstate_user'],
        );
        assert.deepEqual(userIndexes, [
          { name: 'django_session_keepstate_user_expire_date_afd29da1', col: 'expire_date' },
          { name: 'django_session_keepstate_user_user_id_b5b27ca2', col: 'user_id' },
          { name: 'PRIMARY', col: 'session_key' },
        ]);
      } finally {
        await own.end();
        await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
      }
    });

    test('matched rows are read whatever the FOUND_ROWS flag, so an unchanged save is fine', async () => {
      const table = uniqueTable();
      tables.push(table);
      // Without CLIENT_FOUND_ROWS, affectedRows counts changed rows: 0 for an identical UPDATE.
      const changedRows = mysql.createPool({ uri: MYSQL_URL, flags: ['-FOUND_ROWS'] });
      try {
        const clock = testClock();
        const store = attach(new MysqlStore(changedRows, { table }), clock);
        await store.migrate();
        const record = {
          sessionKey: 'k'.repeat(32),
          data: { a: 1 },
          expiresAt: new Date(clock().getTime() + 60_000),
        };
        await store.create(record);
        const [result] = await changedRows.execute(
          `UPDATE \`${table}\` SET session_data = session_data WHERE session_key = ?`,
          [record.sessionKey],
        );
        assert.equal((result as mysql.ResultSetHeader).affectedRows, 0, 'the flag is off');
        assert.equal(await store.save(record), record.sessionKey);
        assert.equal(await store.save(record), record.sessionKey);
        await assert.rejects(store.save({ ...record, sessionKey: 'm'.repeat(32) }), UpdateError);
      } finally {
        await changedRows.end();
      }
    });

    test("the pool's timezone and dateStrings options change nothing", async () => {
      const table = uniqueTable();
      tables.push(table);
      const odd = mysql.createPool({ uri: MYSQL_URL, timezone: '+05:45', dateStrings: true });
      try {
        await odd.query("SET time_zone = '-03:30'");
        const clock = testClock();
        const store = attach(new MysqlStore(odd, { table }), clock);
        await store.migrate();
        const expiresAt = new Date(clock().getTime() + 300_250);
        await store.create({ sessionKey: 'k'.repeat(32), data: { a: 1 }, expiresAt });
        clock.advance(300.249);
        const { version: _, ...loaded } = (await store.load('k'.repeat(32))) ?? {};
        assert.deepEqual(loaded, {
          sessionKey: 'k'.repeat(32),
          data: { a: 1 },
          expiresAt,
        });
        clock.advance(0.001);
        assert.equal(await store.load('k'.repeat(32)), null);
        const [row] = await rowsOf(table);
        assert.equal(row?.expire_date, '2023-11-14 22:18:20.250000');
      } finally {
        await odd.end();
      }
    });

    test('refuses a table name that is not a plain identifier or is over 64 characters', () => {
      new MysqlStore(pool, { table: 't'.repeat(64) });
      for (const table of ['t'.repeat(65), 'bad name', '1st', 'a`b', 'test.django_session']) {
        assert.throws(
          () => new MysqlStore(pool, { table }),
          (error: Error) => error instanceof ImproperlyConfigured && /`table`/.test(error.message),
          table,
        );
      }
    });

    test('a missing table is a StoreError that says to migrate', async () => {
      const clock = testClock();
      const store = attach(new MysqlStore(pool, { table: uniqueTable() }), clock);
      await assert.rejects(
        store.load('f'.repeat(32)),
        (error: Error) =>
          error instanceof StoreError &&
          /MysqlStore could not load a session: Table .* doesn't exist/.test(error.message) &&
          /migrate\(\)/.test(error.message),
      );
    });

    test('a refused connection is a StoreError on every call', async () => {
      const down = mysql.createPool({
        host: '127.0.0.1',
        port: await closedPort(),
        user: 'root',
        connectTimeout: 2_000,
      });
      try {
        await assertOutage(attach(new MysqlStore(down), testClock()), 'MysqlStore');
      } finally {
        await down.end();
      }
    });

    test('a server that never answers is a StoreError once the connect timeout passes', async () => {
      const silent = await silentServer();
      const hung = mysql.createPool({
        host: '127.0.0.1',
        port: silent.port,
        user: 'root',
        connectTimeout: 200,
      });
      try {
        const store = attach(new MysqlStore(hung), testClock());
        await assert.rejects(
          store.load('f'.repeat(32)),
          (error: Error) =>
            error instanceof StoreError &&
            /MysqlStore could not load a session: .*(timeout|ETIMEDOUT)/i.test(error.message),
        );
      } finally {
        await hung.end();
        await silent.close();
      }
    });
  });
});
