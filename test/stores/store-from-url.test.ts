import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { CachedStore } from '../../src/stores/cached-store.js';
import { importDriver, type OwnedStore, storeFromUrl } from '../../src/stores/store-from-url.js';
import { TEST_SECRET } from '../support/attach.js';
import { memcachedTool, startMemcached } from '../support/memcached-server.js';
import { redisClusterTools, startRedisCluster } from '../support/redis-cluster.js';
import { needService } from '../support/services.js';

const POSTGRES_URL =
  process.env.KEEPSTATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.KEEPSTATE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const REDIS_URL = process.env.KEEPSTATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TABLE = `django_session_url_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const PREFIX = `keepstate-url-test-${randomUUID()}`;

/** Logs in, reads back through a new request, logs out: the whole path through the store. */
async function roundTrip(store: SessionStore): Promise<void> {
  const manager = new SessionManager({ store, secret: TEST_SECRET, logger: { warn() {} } });
  const login = manager.open(null);
  await login.set('user', 'Zoë');
  const { setCookie } = await manager.commit(login, 200);
  const cookie = (setCookie ?? '').split(';')[0] ?? '';
  const next = manager.open(cookie);
  assert.equal(await next.get('user'), 'Zoë');
  await next.flush();
  await manager.commit(next, 200);
  if (!store.selfExpiring) assert.equal(await store.exists(login.sessionKey ?? ''), false);
}

/** Builds the store, migrates it where it has a table, runs `check`, drops the table, closes. */
async function withStore(url: string, check: (store: OwnedStore) => Promise<void>): Promise<void> {
  const store = await storeFromUrl(url);
  const sql = store as OwnedStore & { migrate?: () => Promise<void> };
  try {
    await sql.migrate?.();
    await check(store);
  } finally {
    await store.close();
  }
}

describe('storeFromUrl', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keepstate-url-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('memory: and cookie:', async () => {
    await withStore('memory:', roundTrip);
    await withStore('cookie:', roundTrip);
  });

  test('sqlite: a relative or absolute file, and a table from the query', async () => {
    await withStore(`sqlite:${join(dir, 'a.sqlite3')}?table=${TABLE}`, async (store) => {
      assert.equal(store.constructor.name, 'SqliteStore');
      assert.equal((store as unknown as { table: string }).table, TABLE);
      await roundTrip(store);
    });
  });

  test('file: a folder', async () => {
    await withStore(`file:${dir}`, async (store) => {
      assert.equal(store.constructor.name, 'FileStore');
      await roundTrip(store);
    });
  });

  test('an unknown scheme, a bad cached form and a missing driver say what to do', async () => {
    await assert.rejects(storeFromUrl('nosql://x'), ImproperlyConfigured);
    await assert.rejects(storeFromUrl('not a url'), /is not a URL/);
    await assert.rejects(storeFromUrl('cached:memory:'), /cached:CACHE_URL\|DURABLE_URL/);
    await assert.rejects(
      importDriver('keepstate-no-such-driver', 'nosql:'),
      (error: Error) =>
        error instanceof ImproperlyConfigured &&
        /npm install keepstate-no-such-driver/.test(error.message),
    );
  });
});

const postgresSkip = await needService(
  'PostgreSQL for storeFromUrl',
  () => withStore(`${POSTGRES_URL}?table=${TABLE}`, async () => {}),
  'start PostgreSQL or set KEEPSTATE_TEST_POSTGRES_URL',
);
const mysqlSkip = await needService(
  'MySQL/MariaDB for storeFromUrl',
  () => withStore(`${MYSQL_URL}?table=${TABLE}`, async () => {}),
  'start MariaDB or set KEEPSTATE_TEST_MYSQL_URL',
);
const redisSkip = await needService(
  'Redis for storeFromUrl',
  () => withStore(REDIS_URL, async (store) => void (await store.exists('probeprobe'))),
  'start Redis or set KEEPSTATE_TEST_REDIS_URL',
);

describe('storeFromUrl on real servers', () => {
  after(async () => {
    if (!postgresSkip) {
      const { default: driver } = await import('pg');
      const pool = new driver.Pool({ connectionString: POSTGRES_URL });
      await pool.query(`DROP TABLE IF EXISTS ${TABLE}, ${TABLE}_keepstate_user`);
      await pool.end();
    }
    if (!mysqlSkip) {
      const { createConnection } = await import('mysql2/promise');
      const connection = await createConnection(MYSQL_URL);
      await connection.query(`DROP TABLE IF EXISTS ${TABLE}, ${TABLE}_keepstate_user`);
      await connection.end();
    }
  });

  test('postgres:// and postgresql://', { skip: postgresSkip }, async () => {
    await withStore(`${POSTGRES_URL}?table=${TABLE}`, roundTrip);
    await withStore(
      `${POSTGRES_URL.replace(/^postgres:/, 'postgresql:')}?table=${TABLE}`,
      roundTrip,
    );
  });

  test('mysql:// and mariadb://', { skip: mysqlSkip }, async () => {
    await withStore(`${MYSQL_URL}?table=${TABLE}`, roundTrip);
    await withStore(`${MYSQL_URL.replace(/^mysql:/, 'mariadb:')}?table=${TABLE}`, roundTrip);
  });

  test('redis:// with a prefix', { skip: redisSkip }, async () => {
    await withStore(`${REDIS_URL}?prefix=${PREFIX}`, roundTrip);
  });

  test('cached: Redis over SQLite, the durable store stays the truth', {
    skip: redisSkip,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keepstate-cached-'));
    try {
      await withStore(
        `cached:${REDIS_URL}?prefix=${PREFIX}|sqlite:${join(dir, 's.sqlite3')}`,
        async (store) => {
          assert.ok(store instanceof CachedStore);
          await roundTrip(store);
          const manager = new SessionManager({ store, secret: TEST_SECRET });
          const session = manager.open(null);
          await session.set('n', 1);
          await manager.commit(session, 200);
          const key = session.sessionKey ?? '';
          await store.cache.delete(key);
          assert.deepEqual((await store.load(key))?.data, { n: 1 }, 'read from the durable store');
          assert.deepEqual(
            (await store.cache.load(key))?.data,
            { n: 1 },
            'and put back in the cache',
          );
          await store.delete(key);
          assert.equal(await store.cache.exists(key), false);
          assert.equal(await store.durable.exists(key), false);
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const clusterSkip = await needService(
  'redis-server and redis-cli',
  redisClusterTools,
  'apt-get install -y redis-server redis-tools',
);
const memcachedSkip = await needService('memcached', memcachedTool, 'apt-get install -y memcached');

describe('storeFromUrl on servers the test starts', () => {
  test('redis+cluster:// over three masters', { skip: clusterSkip }, async () => {
    const cluster = await startRedisCluster();
    try {
      const hosts = cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',');
      await withStore(`redis+cluster://${hosts}?prefix=${PREFIX}`, roundTrip);
    } finally {
      await cluster.stop();
    }
  });

  test('memcached:// with a prefix', { skip: memcachedSkip }, async () => {
    const server = await startMemcached();
    try {
      await withStore(`memcached://${server.url}?prefix=${PREFIX}`, roundTrip);
    } finally {
      await server.stop();
    }
  });
});
