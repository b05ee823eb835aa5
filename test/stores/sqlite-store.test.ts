import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/core/errors.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { compareAndSet, MAX_ATTEMPTS } from '../../src/stores/sql/compare-and-set.js';
import { djangoIndexName } from '../../src/stores/sql/django-index-name.js';
import { expireDateText, parseExpireDateText } from '../../src/stores/sql/expire-date-text.js';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';
import { attach, TEST_SECRET } from '../support/attach.js';
import { describeWithDjango, findDjango } from '../support/django.js';
import { testClock } from '../support/test-clock.js';
import { vectors } from '../support/vectors.js';
import { djangoOnSqlite } from './sql-django.js';
import {
  byKey,
  type DjangoRow,
  type SqlHarness,
  type SqlStore,
  type UserRow,
  uniqueTable,
} from './sql-harness.js';
import { assertOutage, sqlStoreTests } from './sql-store-tests.js';

const dir = mkdtempSync(join(tmpdir(), 'keepstate-sqlite-'));
const db = new Database(join(dir, 'sessions.sqlite3'));
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function insert(database: Database.Database, table: string, rows: readonly DjangoRow[]): void {
  const values = rows.map(() => '(?, ?, ?)').join(', ');
  database
    .prepare(`INSERT INTO "${table}" (session_key, session_data, expire_date) VALUES ${values}`)
    .run(...rows.flatMap((row) => [row.session_key, row.session_data, row.expire_date]));
}

function rows(database: Database.Database, table: string): DjangoRow[] {
  return (
    database
      .prepare(`SELECT session_key, session_data, expire_date FROM "${table}"`)
      .all() as DjangoRow[]
  ).sort(byKey);
}

const harness: SqlHarness = {
  name: 'SqliteStore',
  textExpireDate: true,
  async fresh(options = {}) {
    const store = new SqliteStore(db, { table: uniqueTable(), ...options });
    await store.migrate();
    return store;
  },
  async insert(store, given) {
    insert(db, store.table, given);
  },
  async rows(store: SqlStore) {
    return rows(db, store.table);
  },
  async userRows(store) {
    return db
      .prepare(
        `SELECT session_key, user_id, user_agent FROM "${store.userTable}" ORDER BY session_key`,
      )
      .all() as UserRow[];
  },
  async execute(sql) {
    db.exec(sql);
  },
  reopen: (store) => new SqliteStore(db, { table: store.table }),
  async close() {},
};

sqlStoreTests(harness);

describe('SqliteStore', () => {
  test("migrate makes exactly the schema of Django's migrate, and the user index", async () => {
    const memory = new Database(':memory:');
    const store = new SqliteStore(memory);
    assert.equal(store.table, 'django_session');
    assert.equal(store.userTable, 'django_session_keepstate_user');
    await store.migrate();
    await store.migrate();
    const fixture = JSON.parse(
      readFileSync(new URL('../fixtures/vectors-django-5.2.json', import.meta.url), 'utf8'),
    ) as { django_session_schema: { type: string; name: string; sql: string }[] };
    const django = fixture.django_session_schema.filter((o) => o.name.startsWith('django_session'));
    const schema = (table: string) =>
      memory
        .prepare(
          'SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name = ?',
        )
        .all(table);
    assert.deepEqual(schema('django_session'), django);
    assert.deepEqual(
      schema('django_session_keepstate_user').map((o) => (o as { sql: string }).sql),
      [
        'CREATE TABLE "django_session_keepstate_user" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "user_id" varchar(255) NOT NULL, "created_at" datetime NOT NULL, "last_activity" datetime NOT NULL, "expire_date" datetime NOT NULL, "user_agent" varchar(512) NULL)',
        'CREATE INDEX "django_session_keepstate_user_user_id_b5b27ca2" ON "django_session_keepstate_user" ("user_id")',
        'CREATE INDEX "django_session_keepstate_user_expire_date_afd29da1" ON "django_session_keepstate_user" ("expire_date")',
      ],
    );
    memory.close();
  });

  test('update runs its merge once, in a transaction other connections wait for', async () => {
    const clock = testClock();
    const store = attach(await harness.fresh(), clock);
    const other = new Database(join(dir, 'sessions.sqlite3'), { timeout: 0 });
    const key = 'q'.repeat(32);
    await store.create({ sessionKey: key, data: { a: 1 }, expiresAt: new Date(2e12) });
    let merges = 0;
    await store.update?.(key, (latest) => {
      merges += 1;
      // The write lock is held: another connection cannot write until the update commits.
      assert.throws(
        () => other.prepare(`DELETE FROM "${store.table}" WHERE session_key = ?`).run(key),
        /locked|busy/i,
      );
      return { sessionKey: key, data: { ...latest, b: 2 }, expiresAt: new Date(2e12) };
    });
    assert.equal(merges, 1);
    assert.deepEqual((await store.load(key))?.data, { a: 1, b: 2 });
    other.close();
  });

  test('an update that keeps meeting other writes gives up with a StoreError', async () => {
    let attempts = 0;
    await assert.rejects(
      compareAndSet('TestStore', async () => {
        attempts += 1;
        return false;
      }),
      (error: Error) =>
        error instanceof StoreError && /TestStore could not update a session/.test(error.message),
    );
    assert.equal(attempts, MAX_ATTEMPTS);
  });

  test('a user table name is derived within the limit, and checked like the table', () => {
    const long = new SqliteStore(db, { table: 'a'.repeat(70) });
    assert.equal(long.userTable, `${'a'.repeat(70)}_keepstate_user`);
    assert.equal(new SqliteStore(db, { userTable: 'my_index' }).userTable, 'my_index');
    for (const userTable of ['bad name', 'django_session']) {
      assert.throws(
        () => new SqliteStore(db, { userTable }),
        (error: Error) =>
          error instanceof ImproperlyConfigured && /`userTable`/.test(error.message),
      );
    }
  });

  test('puts a database file in WAL mode, unless told not to', () => {
    const other = new Database(join(dir, 'other.sqlite3'));
    assert.equal(other.pragma('journal_mode', { simple: true }), 'delete');
    new SqliteStore(other, { wal: false });
    assert.equal(other.pragma('journal_mode', { simple: true }), 'delete');
    new SqliteStore(other);
    assert.equal(other.pragma('journal_mode', { simple: true }), 'wal');
    other.close();
  });

  test('sets synchronous to NORMAL with WAL, leaves it without, and takes an explicit level', () => {
    // 0 OFF, 1 NORMAL, 2 FULL (SQLite's default), 3 EXTRA.
    const level = (db: Database.Database) => db.pragma('synchronous', { simple: true });
    const plain = new Database(join(dir, 'plain.sqlite3'));
    new SqliteStore(plain, { wal: false });
    assert.equal(level(plain), 2);
    plain.close();
    const walled = new Database(join(dir, 'walled.sqlite3'));
    new SqliteStore(walled);
    assert.equal(level(walled), 1);
    new SqliteStore(walled, { synchronous: 'FULL' });
    assert.equal(level(walled), 2);
    walled.close();
    assert.throws(
      () => new SqliteStore(db, { synchronous: 'SOMETIMES' as 'FULL' }),
      (error: Error) =>
        error instanceof ImproperlyConfigured && /`synchronous`.*NORMAL/.test(error.message),
    );
  });

  test('reads every spelling of expire_date Django reads, and compares them as TEXT', async () => {
    // db-012's foreign rows: all name 2023-11-14 23:13:20 UTC.
    const clock = testClock(1_700_003_600);
    const store = attach(await harness.fresh(), clock);
    const db012 = vectors('db').find((v) => v.id === 'db-012');
    assert.ok(db012);
    const inserted = (db012.input.ops as { op: string; row?: DjangoRow }[])
      .flatMap((op) => (op.row ? [op.row] : []))
      .map((row) => ({ ...row, session_data: 'x' }));
    assert.equal(inserted.length, 5);
    await harness.insert(store, inserted);
    const loaded = new Map<string, Date>();
    for (const row of inserted) {
      const record = await store.load(row.session_key);
      if (record) loaded.set(row.expire_date, record.expiresAt);
    }
    // At exactly that second the canonical spelling is gone, the others still sort after now.
    assert.deepEqual(
      [...loaded.keys()],
      [
        '2023-11-14 23:13:20.000000',
        '2023-11-14T23:13:20',
        '2023-11-14T23:13:20.000Z',
        '2023-11-14 23:13:20+00:00',
      ],
    );
    for (const expiresAt of loaded.values()) {
      assert.deepEqual(expiresAt, new Date('2023-11-14T23:13:20Z'));
    }
  });

  test('an expire_date Django could not read is no session', async () => {
    const clock = testClock();
    const store = attach(await harness.fresh(), clock);
    const key = 'e'.repeat(32);
    await harness.insert(store, [{ session_key: key, session_data: 'x', expire_date: 'never' }]);
    assert.equal(await store.load(key), null);
  });

  test('expire_date text: naive UTC, microseconds only when not zero', () => {
    assert.equal(expireDateText(new Date('2023-11-28T22:13:20Z')), '2023-11-28 22:13:20');
    assert.equal(expireDateText(new Date('2023-11-28T22:13:20.25Z')), '2023-11-28 22:13:20.250000');
    assert.equal(
      expireDateText(new Date('2023-11-28T22:13:20.001Z')),
      '2023-11-28 22:13:20.001000',
    );
    assert.throws(() => expireDateText(new Date(Date.UTC(10_000, 0, 1))), RangeError);
    const parse = (text: string) => parseExpireDateText(text)?.toISOString() ?? null;
    assert.equal(parse('2023-11-28 22:13:20.250000'), '2023-11-28T22:13:20.250Z');
    assert.equal(parse('2023-11-15T00:18:20.250999+02:00'), '2023-11-14T22:18:20.250Z');
    assert.equal(parse('2023-11-14 23:13:20-0130'), '2023-11-15T00:43:20.000Z');
    assert.equal(parse('2023-1-4 3:05'), '2023-01-04T03:05:00.000Z');
    assert.equal(parse('2023-02-30 00:00:00'), null);
    assert.equal(parse('2023-11-14'), null);
  });

  test("index names are Django's, shortened as Django shortens them", () => {
    // Expected values from Django 5.2's BaseDatabaseSchemaEditor._create_index_name.
    assert.equal(
      djangoIndexName('django_session', ['expire_date']),
      'django_session_expire_date_a5c62663',
    );
    assert.equal(
      djangoIndexName('django_session', ['session_key'], 63, '_like'),
      'django_session_session_key_c0390e0f_like',
    );
    assert.equal(
      djangoIndexName('s'.repeat(60), ['expire_date'], 63),
      `${'s'.repeat(26)}_expire_date_1ff0cd10`,
    );
    assert.equal(
      djangoIndexName('m'.repeat(64), ['session_key'], 64, '_like'),
      `${'m'.repeat(24)}_session_key_ecc57036_like`,
    );
    assert.equal(
      djangoIndexName(`_x${'a'.repeat(58)}`, ['session_key'], 63, '_like'),
      `D_x${'a'.repeat(22)}_session_key_bcb41171_lik`,
    );
  });

  test('refuses a table name that is not a plain identifier, naming the option', () => {
    for (const table of ['bad name', '1st', '', 'x"; DROP TABLE y; --', 'a.b', 'é']) {
      assert.throws(
        () => new SqliteStore(db, { table }),
        (error: Error) => error instanceof ImproperlyConfigured && /`table`/.test(error.message),
        table,
      );
    }
    for (const clearBatchSize of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new SqliteStore(db, { clearBatchSize }),
        (error: Error) =>
          error instanceof ImproperlyConfigured && /`clearBatchSize`/.test(error.message),
      );
    }
  });

  test('a missing table is a StoreError that says to migrate', async () => {
    const clock = testClock();
    const store = attach(new SqliteStore(db, { table: uniqueTable() }), clock);
    await assert.rejects(
      store.load('f'.repeat(32)),
      (error: Error) =>
        error instanceof StoreError &&
        /SqliteStore could not load a session: no such table/.test(error.message) &&
        /migrate\(\)/.test(error.message) &&
        error.cause instanceof Error,
    );
    await store.migrate();
    assert.equal(await store.load('f'.repeat(32)), null);
  });

  test('a closed database is a StoreError with the driver error as cause', async () => {
    const closed = new Database(':memory:');
    const clock = testClock();
    const store = attach(new SqliteStore(closed), clock);
    await store.migrate();
    closed.close();
    await assertOutage(store, 'SqliteStore');
  });

  test('works unattached for the CLI (clearExpired, migrate); the codec needs a manager', async () => {
    const store = await harness.fresh();
    assert.equal(await store.clearExpired(), 0);
    await assert.rejects(store.load('f'.repeat(32)), ImproperlyConfigured);
  });
});

// Its own folder: this suite is declared after Django is found, when the file's `after` hook
// may already have removed `dir`.
const djangoDir = mkdtempSync(join(tmpdir(), 'keepstate-sqlite-django-'));
process.once('exit', () => rmSync(djangoDir, { recursive: true, force: true }));

describeWithDjango('SqliteStore with real Django 5.2', await findDjango('5.2'), (peer) => {
  test('Django and keepstate share one database file both ways', async () => {
    const file = join(djangoDir, 'shared.sqlite3');
    const shared = new Database(file);
    const store = new SqliteStore(shared);
    // Django's own `migrate` made the table; keepstate's finds it there.
    await djangoOnSqlite(peer.python, file, TEST_SECRET, [{ op: 'migrate' }]);
    await store.migrate();
    const manager = new SessionManager({ store, secret: TEST_SECRET, logger: { warn() {} } });

    const ours = manager.open(null);
    await ours.update({ user: 'alice', name: 'Zoë', n: [1, 2.5] });
    await manager.commit(ours, 200);
    const [djangoKey, seen, , schema] = await djangoOnSqlite(peer.python, file, TEST_SECRET, [
      { op: 'create', data: { from: 'django', emoji: '😀' } },
      { op: 'load', key: ours.sessionKey ?? '' },
      { op: 'update', key: ours.sessionKey ?? '', data: { by: 'django' } },
      { op: 'schema' },
    ]);
    assert.deepEqual(seen, { user: 'alice', name: 'Zoë', n: [1, 2.5] });
    assert.deepEqual(
      Object.fromEntries(await manager.open({ sessionid: String(djangoKey) }).items()),
      { from: 'django', emoji: '😀' },
    );
    assert.deepEqual(
      Object.fromEntries(await manager.open({ sessionid: ours.sessionKey ?? '' }).items()),
      { user: 'alice', name: 'Zoë', n: [1, 2.5], by: 'django' },
    );
    assert.deepEqual(
      (schema as string[][]).map(([type, name]) => `${type} ${name}`),
      [
        'table django_session',
        'index django_session_expire_date_a5c62663',
        'index sqlite_autoindex_django_session_1',
      ],
    );
    shared.close();
  });

  test("Django's migrate --fake-initial adopts a table keepstate made", async () => {
    const file = join(djangoDir, 'ours-first.sqlite3');
    const ours = new Database(file);
    await new SqliteStore(ours).migrate();
    ours.close();
    await djangoOnSqlite(peer.python, file, TEST_SECRET, [
      { op: 'migrate', args: ['--fake-initial'] },
      { op: 'clearsessions' },
    ]);
  });
});
