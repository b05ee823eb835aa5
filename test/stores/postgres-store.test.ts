import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { StoreError } from '../../src/core/errors.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { PostgresStore } from '../../src/stores/sql/postgres-store.js';
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

const POSTGRES_URL =
  process.env.KEEPSTATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pool = new pg.Pool({
  connectionString: POSTGRES_URL,
  connectionTimeoutMillis: 5_000,
  max: 4,
});
pool.on('error', () => {}); // an idle client's error must not crash the test process

const skip = await needService(
  `PostgreSQL at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')}`,
  () => pool.query('SELECT 1'),
  'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set KEEPSTATE_TEST_POSTGRES_URL',
);

const tables: string[] = [];
after(async () => {
  if (!skip) {
    for (const table of tables) {
      await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_keepstate_user"`);
    }
  }
  await pool.end();
});

const harness: SqlHarness = {
  name: 'PostgresStore',
  textExpireDate: false,
  async fresh(options = {}) {
    const table = uniqueTable();
    tables.push(table);
    const store = new PostgresStore(pool, { table, ...options });
    await store.migrate();
    return store;
  },
  async insert(store, rows: readonly DjangoRow[]) {
    const values = rows.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(', ');
    await pool.query(
      `INSERT INTO "${store.table}" (session_key, session_data, expire_date) VALUES ${values}`,
      rows.flatMap((row) => [
        row.session_key,
        row.session_data,
        instantOf(row.expire_date).toISOString(),
      ]),
    );
  },
  async rows(store) {
    const { rows } = await pool.query<DjangoRow>(
      `SELECT session_key, session_data, to_char(expire_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS expire_date FROM "${store.table}"`,
    );
    return rows.map((row) => ({ ...row, expire_date: djangoText(row.expire_date) })).sort(byKey);
  },
  async userRows(store) {
    const { rows } = await pool.query<UserRow>(
      `SELECT session_key, user_id, user_agent FROM "${store.userTable}" ORDER BY session_key`,
    );
    return rows;
  },
  async execute(sql) {
    await pool.query(sql);
  },
  reopen: (store) => new PostgresStore(pool, { table: store.table }),
  async close() {},
};

describe('PostgresStore', { skip }, () => {
  sqlStoreTests(harness);

  describe('PostgresStore on its own', () => {
    test("migrate makes Django's schema, under Django's names, and is idempotent", async () => {
      // A schema of our own, so the table can have its default name on a shared server.
      const schema = `keepstate_${randomBytes(6).toString('hex')}`;
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA "${schema}"`);
        await client.query(`SET search_path TO "${schema}"`);
        const store = new PostgresStore(client);
        await store.migrate();
        await store.migrate();
        const columns = await client.query(
          `SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'django_session' ORDER BY ordinal_position`,
          [schema],
        );
        assert.deepEqual(columns.rows, [
          {
            column_name: 'session_key',
            data_type: 'character varying',
            character_maximum_length: 40,
            is_nullable: 'NO',
          },
          {
            column_name: 'session_data',
            data_type: 'text',
            character_maximum_length: null,
            is_nullable: 'NO',
          },
          {
            column_name: 'expire_date',
            data_type: 'timestamp with time zone',
            character_maximum_length: null,
            is_nullable: 'NO',
          },
        ]);
        const indexes = await client.query(
          "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'django_session' ORDER BY indexname",
          [schema],
        );
        assert.deepEqual(
          indexes.rows.map((row) =>
            row.indexdef.replace(`"${schema}".`, '').replace(`${schema}.`, ''),
          ),
          [
            'CREATE INDEX django_session_expire_date_a5c62663 ON django_session USING btree (expire_date)',
            'CREATE UNIQUE INDEX django_session_pkey ON django_session USING btree (session_key)',
            'CREATE INDEX django_session_session_key_c0390e0f_like ON django_session USING btree (session_key varchar_pattern_ops)',
          ],
        );
        const userColumns = await client.query(
          `SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'django_session_keepstate_user' ORDER BY ordinal_position`,
          [schema],
        );
        assert.deepEqual(
          userColumns.rows.map((c) =>
            [c.column_name, c.data_type, c.character_maximum_length, c.is_nullable].join(' '),
          ),
          [
            'session_key character varying 40 NO',
            'user_id character varying 255 NO',
            'created_at timestamp with time zone  NO',
            'last_activity timestamp with time zone  NO',
            'expire_date timestamp with time zone  NO',
            'user_agent character varying 512 YES',
          ],
        );
        const userIndexes = await client.query(
          "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'django_session_keepstate_user' ORDER BY indexname",
          [schema],
        );
        assert.deepEqual(
          userIndexes.rows.map((row) => row.indexname),
          [
            'django_session_keepstate_user_expire_date_afd29da1',
            'django_session_keepstate_user_pkey',
            'django_session_keepstate_user_user_id_b5b27ca2',
          ],
        );
      } finally {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
    });

    test("the session's TimeZone changes nothing", async () => {
      const table = uniqueTable();
      tables.push(table);
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query("SET TIME ZONE 'Asia/Kathmandu'"); // +05:45
        const clock = testClock();
        const store = attach(new PostgresStore(client, { table }), clock);
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
        const [row] = await harness.rows(store);
        assert.equal(row?.expire_date, '2023-11-14 22:18:20.250000');
      } finally {
        await client.end();
      }
    });

    test('refuses a table name that is not a plain identifier or is over 63 characters', () => {
      new PostgresStore(pool, { table: 't'.repeat(63) });
      for (const table of ['t'.repeat(64), 'bad name', '1st', 'a"b', 'public.django_session']) {
        assert.throws(
          () => new PostgresStore(pool, { table }),
          (error: Error) => error instanceof ImproperlyConfigured && /`table`/.test(error.message),
          table,
        );
      }
    });

    test('a missing table is a StoreError that says to migrate', async () => {
      const clock = testClock();
      const store = attach(new PostgresStore(pool, { table: uniqueTable() }), clock);
      await assert.rejects(
        store.load('f'.repeat(32)),
        (error: Error) =>
          error instanceof StoreError &&
          /PostgresStore could not load a session: relation .* does not exist/.test(
            error.message,
          ) &&
          /migrate\(\)/.test(error.message),
      );
    });

    test('a refused connection is a StoreError on every call', async () => {
      const down = new pg.Pool({
        host: '127.0.0.1',
        port: await closedPort(),
        user: 'postgres',
        connectionTimeoutMillis: 2_000,
      });
      down.on('error', () => {});
      try {
        await assertOutage(attach(new PostgresStore(down), testClock()), 'PostgresStore');
      } finally {
        await down.end();
      }
    });

    test('a server that never answers is a StoreError once the pool gives up', async () => {
      const silent = await silentServer();
      const hung = new pg.Pool({
        host: '127.0.0.1',
        port: silent.port,
        user: 'postgres',
        connectionTimeoutMillis: 200,
      });
      hung.on('error', () => {});
      try {
        const store = attach(new PostgresStore(hung), testClock());
        await assert.rejects(
          store.load('f'.repeat(32)),
          (error: Error) =>
            error instanceof StoreError &&
            /PostgresStore could not load a session: .*timeout/i.test(error.message),
        );
      } finally {
        await hung.end();
        await silent.close();
      }
    });
  });
});
