// The stores of the scale bench, each with a bulk fill that bypasses keepstate (a million
// rows one request at a time would take longer than the measurement): SQLite on disk (WAL),
// PostgreSQL in a table of its own, and the bench's own Redis. Each store is attached to a
// SessionManager, so it encodes with Django's codec exactly as in production.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { keyOf } from './keys.mjs';

const DIST = process.env.KEEPSTATE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url));
const ks = (path) => import(pathToFileURL(join(DIST, path)).href);
const { SessionManager } = await ks('index.js');

export const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const DAY_MS = 86_400_000;
export const LIVE_MS = 14 * DAY_MS;

function loopback(url, what) {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') {
    throw new Error(`${what} must be on loopback, got ${u.hostname}`);
  }
  return u;
}

function attach(store) {
  return new SessionManager({ secret: SECRET, store });
}

export async function sqlite() {
  const { default: Database } = await import('better-sqlite3');
  const { SqliteStore } = await ks('stores/sql/sqlite-store.js');
  const { expireDateText } = await ks('stores/sql/expire-date-text.js');
  const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'keepstate-scale-'));
  const file = join(dir, 'sessions.sqlite3');
  const db = new Database(file);
  const store = new SqliteStore(db);
  const manager = attach(store);
  await store.migrate();
  const insert = db.prepare('INSERT INTO django_session VALUES (?, ?, ?)');
  const fillTx = db.transaction((from, to, value, expire) => {
    for (let i = from; i < to; i++) insert.run(keyOf(i), value, expire);
  });
  return {
    name: 'SQLite (WAL, on disk)',
    store,
    async fill(from, to, { expired = false } = {}) {
      const value = manager.codec.encode({ count: 0 });
      const expire = expireDateText(new Date(Date.now() + (expired ? -DAY_MS : LIVE_MS)));
      for (let i = from; i < to; i += 100_000) fillTx(i, Math.min(to, i + 100_000), value, expire);
      db.prepare('ANALYZE').run();
    },
    size: () => `${(statSync(file).size / 2 ** 20).toFixed(0)} MiB file`,
    async close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function postgres() {
  const url = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  loopback(url, 'BENCH_POSTGRES_URL');
  const { default: pg } = await import('pg');
  const { PostgresStore } = await ks('stores/sql/postgres-store.js');
  const table = 'keepstate_bench_scale';
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query(`DROP TABLE IF EXISTS "${table}"`);
  const store = new PostgresStore(pool, { table });
  const manager = attach(store);
  await store.migrate();
  return {
    name: 'PostgreSQL',
    store,
    async fill(from, to, { expired = false } = {}) {
      const value = manager.codec.encode({ count: 0 });
      const expire = new Date(Date.now() + (expired ? -DAY_MS : LIVE_MS)).toISOString();
      for (let i = from; i < to; i += 200_000) {
        await pool.query(
          `INSERT INTO "${table}" SELECT substr(md5('k' || i), 1, 32), $1, $2 FROM generate_series($3::int, $4::int) AS i`,
          [value, expire, i, Math.min(to, i + 200_000) - 1],
        );
      }
      await pool.query(`VACUUM ANALYZE "${table}"`);
    },
    async size() {
      const { rows } = await pool.query(`SELECT pg_total_relation_size('"${table}"') AS b`);
      return `${(Number(rows[0].b) / 2 ** 20).toFixed(0)} MiB table with indexes`;
    },
    async close() {
      await pool.query(`DROP TABLE IF EXISTS "${table}"`);
      await pool.end();
    },
  };
}

export async function redis() {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6391';
  // The scale bench FLUSHes this database: never the test Redis, nor one whose data you keep.
  if (loopback(url, 'REDIS_URL').port === '6379' || !new URL(url).port) {
    throw new Error('REDIS_URL must be the bench Redis (sh bench/redis.sh start), not 6379');
  }
  const { Redis } = await import('ioredis');
  const { RedisStore } = await ks('stores/redis-store.js');
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  await client.flushdb();
  const store = new RedisStore(client, { prefix: 'session' });
  const manager = attach(store);
  return {
    name: 'Redis',
    store,
    async fill(from, to) {
      const value = manager.codec.encode({ count: 0 });
      for (let i = from; i < to; i += 10_000) {
        const batch = client.pipeline();
        for (let j = i; j < Math.min(to, i + 10_000); j++)
          batch.set(`session:${keyOf(j)}`, value, 'PX', LIVE_MS);
        await batch.exec();
      }
    },
    async size() {
      const info = await client.info('memory');
      return `${/used_memory_human:(\S+)/.exec(info)?.[1] ?? '?'} used by Redis`;
    },
    async close() {
      await client.flushdb();
      await client.quit();
    },
  };
}
