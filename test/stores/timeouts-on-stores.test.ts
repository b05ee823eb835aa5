import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionOptions } from '../../src/core/session-options.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { EncryptedCookieStore } from '../../src/stores/encrypted-cookie-store.js';
import { FileStore } from '../../src/stores/file-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { SignedCookieStore } from '../../src/stores/signed-cookie-store.js';
import { PostgresStore } from '../../src/stores/sql/postgres-store.js';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';
import { TEST_SECRET } from '../support/attach.js';
import { needService } from '../support/services.js';
import { testClock } from '../support/test-clock.js';

const REDIS_URL = process.env.KEEPSTATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL =
  process.env.KEEPSTATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = randomUUID().replaceAll('-', '').slice(0, 12);

const redisSkip = await needService(
  `Redis at ${REDIS_URL}`,
  async () => {
    const probe = new Redis(REDIS_URL, { connectTimeout: 2_000, retryStrategy: () => null });
    try {
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  },
  'start Redis or set KEEPSTATE_TEST_REDIS_URL',
);
const postgresSkip = await needService(
  `PostgreSQL at ${POSTGRES_URL}`,
  async () => {
    const probe = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
    await probe.connect();
    await probe.end();
  },
  'start PostgreSQL or set KEEPSTATE_TEST_POSTGRES_URL',
);

const folder = mkdtempSync(join(tmpdir(), 'keepstate-timeouts-'));
const redis = redisSkip ? undefined : new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const pool = postgresSkip ? undefined : new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
const table = `timeouts_${RUN}`;
after(async () => {
  rmSync(folder, { recursive: true, force: true });
  if (redis) {
    const keys = await redis.keys(`timeouts-${RUN}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  if (pool) {
    await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_keepstate_user`);
    await pool.end();
  }
});

/** Each store the timeouts apply to, fresh per call; `skip` when its server is missing. */
const stores: [string, () => Promise<SessionStore>, string | false][] = [
  ['MemoryStore', async () => new MemoryStore({ pruneInterval: 0 }), false],
  ['SignedCookieStore', async () => new SignedCookieStore(), false],
  ['EncryptedCookieStore', async () => new EncryptedCookieStore(), false],
  ['FileStore', async () => new FileStore({ path: mkdtempSync(join(folder, 'f-')) }), false],
  [
    'SqliteStore (WAL, on disk)',
    async () => {
      const db = new Database(join(mkdtempSync(join(folder, 's-')), 'sessions.db'));
      db.pragma('journal_mode = WAL');
      const store = new SqliteStore(db);
      await store.migrate();
      return store;
    },
    false,
  ],
  [
    'RedisStore',
    async () => new RedisStore(redis as Redis, { prefix: `timeouts-${RUN}-${randomUUID()}` }),
    redisSkip,
  ],
  [
    'PostgresStore',
    async () => {
      const store = new PostgresStore(pool as pg.Pool, { table });
      await store.migrate();
      return store;
    },
    postgresSkip,
  ],
];

async function setup(store: SessionStore, options: Partial<SessionOptions>) {
  const clock = testClock(Math.floor(Date.now() / 1000));
  const manager = new SessionManager({ store, secret: TEST_SECRET, clock, ...options });
  let cookie = '';
  let setCookies = 0;
  /** One request that reads the session; keeps the cookie it gets, as a browser does. */
  const visit = async (change?: Record<string, unknown>) => {
    const session = manager.open(cookie);
    if (change) await session.update(change);
    const user = await session.get('user');
    const { setCookie } = await manager.commit(session, 200);
    if (setCookie) {
      setCookies++;
      cookie = setCookie.split(';')[0] ?? '';
    }
    return user;
  };
  await visit({ user: 'ann' });
  return { clock, visit, writes: () => setCookies - 1 };
}

for (const [name, make, skip] of stores) {
  describe(`${name}: idle and absolute timeouts, touchAfter`, { skip }, () => {
    test('an active session ends at its absolute deadline', async () => {
      const { clock, visit } = await setup(await make(), {
        idleTimeout: 600,
        absoluteTimeout: 3000,
      });
      for (let i = 0; i < 9; i++) {
        clock.advance(300);
        assert.equal(await visit(), 'ann', `request ${i + 1}`);
      }
      clock.advance(300);
      assert.equal(await visit(), undefined);
    });

    test('an idle session ends after idleTimeout', async (t) => {
      const store = await make();
      // Redis expires the record by its own clock, which the test clock cannot move; its own
      // tests check the TTL it writes.
      if (store.selfExpiring === true && !name.includes('Cookie')) {
        return t.skip('the backend expires records on its own clock');
      }
      const { clock, visit } = await setup(store, { idleTimeout: 600 });
      clock.advance(599);
      assert.equal(await visit(), 'ann');
      clock.advance(601);
      assert.equal(await visit(), undefined);
    });

    test('touchAfter: one write a minute instead of one per request (counted)', async () => {
      const { clock, visit, writes } = await setup(await make(), {
        idleTimeout: 600,
        touchAfter: 60,
      });
      // A request every 10 seconds for 10 minutes.
      for (let i = 0; i < 60; i++) {
        clock.advance(10);
        assert.equal(await visit(), 'ann');
      }
      assert.equal(writes(), 10);
    });
  });
}
