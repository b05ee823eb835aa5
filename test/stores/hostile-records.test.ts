import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { openExchange } from '../../src/adapters/session-exchange.js';
import { SESSION_STORE_SALT, SessionCodec } from '../../src/core/session-codec.js';
import { generateSessionKey } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { TimestampSigner } from '../../src/signing/timestamp-signer.js';
import { HashedKeyStore } from '../../src/stores/hashed-key-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { SignedCookieStore } from '../../src/stores/signed-cookie-store.js';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';
import { TEST_SECRET } from '../support/attach.js';
import { prng } from '../support/prng.js';
import { type OwnedRedis, redisTools, startRedis } from '../support/redis-server.js';
import { needService } from '../support/services.js';
import { uniqueTable } from './sql-harness.js';

/**
 * Hostile cookies and hostile records against real stores: a real SQLite file and a real Redis
 * this test starts (beside the memory store where the property is the core's).
 */

const OLD_SECRET = 'the-secret-before-the-rotation-0123456789';
const redisSkip = await needService(
  'redis-server and redis-cli',
  redisTools,
  'install them (apt-get install -y redis-server redis-tools)',
);

const dir = mkdtempSync(join(tmpdir(), 'keepstate-hostile-'));
const db = new Database(join(dir, 'sessions.sqlite3'));
let redis: OwnedRedis | null = null;
let client: Redis | null = null;
before(async () => {
  if (redisSkip) return;
  redis = await startRedis();
  client = new Redis(redis.url);
});
after(async () => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
  client?.disconnect();
  await redis?.stop();
});

/** A real store, how many records it holds, and how to put a raw record in it. */
interface Backend {
  readonly name: string;
  readonly skip: string | false;
  store(): Promise<SessionStore>;
  size(store: SessionStore): Promise<number>;
  /** Stores `raw` as the session data of `sessionKey`, as a foreign writer would. */
  plant(store: SessionStore, sessionKey: string, raw: string | Buffer): Promise<void>;
  /** The raw data stored for `sessionKey`. */
  raw(store: SessionStore, sessionKey: string): Promise<string | null>;
  /** Every stored key and value, as text. */
  dump(store: SessionStore): Promise<string>;
}

const sqlite: Backend = {
  name: 'SqliteStore',
  skip: false,
  async store() {
    const store = new SqliteStore(db, { table: uniqueTable() });
    await store.migrate();
    return store;
  },
  async size(store) {
    const { table } = store as SqliteStore;
    return (db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
  },
  async plant(store, sessionKey, raw) {
    db.prepare(
      `INSERT INTO "${(store as SqliteStore).table}" (session_key, session_data, expire_date) VALUES (?, ?, ?)`,
    ).run(sessionKey, raw, '9999-01-01 00:00:00');
  },
  async raw(store, sessionKey) {
    const row = db
      .prepare(`SELECT session_data FROM "${(store as SqliteStore).table}" WHERE session_key = ?`)
      .get(sessionKey) as { session_data: string } | undefined;
    return row?.session_data ?? null;
  },
  async dump(store) {
    return JSON.stringify(db.prepare(`SELECT * FROM "${(store as SqliteStore).table}"`).all());
  },
};

/** Each Redis store's key prefix, so each test sees only its own keys. */
const prefixes = new WeakMap<SessionStore, string>();
let redisStores = 0;
function prefixOf(store: SessionStore): string {
  const prefix = prefixes.get(store);
  assert.ok(prefix, 'a store made by redisBackend.store()');
  return prefix;
}

const redisBackend: Backend = {
  name: 'RedisStore',
  skip: redisSkip,
  async store() {
    const prefix = `hostile${redisStores++}`;
    const store = new RedisStore(client as Redis, { prefix });
    prefixes.set(store, prefix);
    return store;
  },
  async size(store) {
    return (await (client as Redis).keys(`${prefixOf(store)}:*`)).length;
  },
  async plant(store, sessionKey, raw) {
    await (client as Redis).set(`${prefixOf(store)}:${sessionKey}`, raw, 'EX', 3600);
  },
  async raw(store, sessionKey) {
    return (client as Redis).get(`${prefixOf(store)}:${sessionKey}`);
  },
  async dump(store) {
    const keys = await (client as Redis).keys(`${prefixOf(store)}:*`);
    const values = await Promise.all(keys.map((key) => (client as Redis).get(key)));
    return JSON.stringify([keys, values]);
  },
};

function managerFor(store: SessionStore, options: { secret?: string; fallback?: string } = {}) {
  const warnings: string[] = [];
  const manager = new SessionManager({
    store,
    secret: options.secret ?? TEST_SECRET,
    fallbackSecrets: options.fallback === undefined ? [] : [options.fallback],
    logger: { warn: (message) => warnings.push(message) },
  });
  return { manager, warnings };
}

/** One request through the adapters' shared exchange: open, `handle`, commit. */
async function request(
  manager: SessionManager,
  cookie: string | null,
  handle: (session: ReturnType<SessionManager['open']>) => Promise<unknown> = async () => {},
) {
  const exchange = openExchange(manager, cookie);
  await handle(exchange.session);
  const headers = await exchange.commit(200);
  return { session: exchange.session, ...headers };
}

describe('unknown, empty and anonymous sessions create no record and no cookie', () => {
  const backends: [string, () => Promise<{ store: SessionStore; size(): Promise<number> }>][] = [
    [
      'MemoryStore',
      async () => {
        const store = new MemoryStore();
        return { store, size: async () => store.size };
      },
    ],
    [
      'SqliteStore',
      async () => {
        const store = await sqlite.store();
        return { store, size: () => sqlite.size(store) };
      },
    ],
  ];
  for (const [name, make] of backends) {
    test(`${name}: 10,000 requests with random unknown well-formed keys leave its size unchanged`, async () => {
      const { store, size } = await make();
      const { manager, warnings } = managerFor(store);
      const real = await request(manager, null, (s) => s.set('user', 'ann'));
      const sizeBefore = await size();
      const random = prng(6_2026);
      const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
      for (let index = 0; index < 10_000; index++) {
        let key = '';
        for (let char = 0; char < 32; char++) key += alphabet[Math.floor(random() * 36)];
        const kind = index % 4;
        const { setCookie } = await request(
          manager,
          kind === 3 ? null : `sessionid=${key}`,
          async (session) => {
            if (kind === 0) return;
            assert.equal(await session.get('user'), undefined);
            if (kind === 2) await session.clear();
          },
        );
        if (kind === 0 || kind === 3) assert.deepEqual(setCookie, [], `request ${index}`);
        // A stale cookie that was read is deleted, as Django does; never replaced by a new one.
        else assert.match(setCookie.join('|'), /^sessionid=""; [^|]*Max-Age=0[^|]*$/);
      }
      assert.equal(await size(), sizeBefore);
      assert.deepEqual(warnings, []);
      const back = await request(manager, `sessionid=${real.session.sessionKey}`, (s) =>
        s.get('user'),
      );
      assert.equal(await back.session.get('user'), 'ann');
    });
  }

  test('clearExpired deletes only expired records, in batches, while requests go on', async () => {
    const store = new SqliteStore(db, { table: uniqueTable(), clearBatchSize: 500 });
    await store.migrate();
    const { manager } = managerFor(store);
    const { session } = await request(manager, null, (s) => s.set('user', 'ann'));
    const insert = db.prepare(
      `INSERT INTO "${store.table}" (session_key, session_data, expire_date) VALUES (?, 'x', '2000-01-01 00:00:00')`,
    );
    for (let index = 0; index < 5_000; index++) insert.run(generateSessionKey());
    let served: number | null = null;
    let deleted = 0;
    let pending: Promise<unknown> | null = null;
    const total = await store.clearExpired({
      onProgress: (count) => {
        deleted = count;
        // A request arriving during the sweep is answered between two batches.
        pending ??= request(manager, `sessionid=${session.sessionKey}`, async (s) => {
          assert.equal(await s.get('user'), 'ann');
          served = deleted;
        });
      },
    });
    await pending;
    assert.equal(total, 5_000);
    assert.ok(served !== null && served < 5_000, `served after ${served} of 5,000 deletions`);
    assert.equal(await sqlite.size(store), 1, 'the live session is kept');
  });

  test('flushing with the cookie sent deletes that cookie exactly once', async () => {
    const store = await sqlite.store();
    const { manager } = managerFor(store);
    const { session } = await request(manager, null, (s) => s.set('user', 'ann'));
    const key = session.sessionKey ?? '';
    const { setCookie } = await request(manager, `sessionid=${key}`, async (s) => {
      await s.flush();
      await s.flush();
      await s.get('user');
    });
    assert.equal(setCookie.length, 1);
    assert.match(setCookie[0] ?? '', /^sessionid=""; .*Max-Age=0/);
    assert.equal(await sqlite.size(store), 0);
  });
});

for (const backend of [sqlite, redisBackend]) {
  describe(`${backend.name} (real): hostile records`, { skip: backend.skip }, () => {
    const signer = new TimestampSigner({ secret: TEST_SECRET, salt: SESSION_STORE_SALT });
    const corrupt: [string, string | Buffer][] = [
      ['{', '{'],
      ['null', 'null'],
      ['42', '42'],
      ['[]', '[]'],
      ['random bytes', Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 73 + 11) % 256))],
      ['a signed null', signer.signObject(null, { compress: true })],
      ['a signed 42', signer.signObject(42, { compress: true })],
      ['a signed []', signer.signObject([], { compress: true })],
      ['a signed string', signer.signObject('data', { compress: true })],
    ];
    for (const [label, raw] of corrupt) {
      test(`a corrupt record (${label}) reads as an empty session, with exactly one security-log line`, async () => {
        const store = await backend.store();
        const { manager, warnings } = managerFor(store);
        const key = generateSessionKey();
        await backend.plant(store, key, raw);
        const { session, setCookie } = await request(manager, `sessionid=${key}`, async (s) => {
          assert.deepEqual(await s.items(), []);
          assert.equal(await s.get('user'), undefined);
        });
        assert.equal(warnings.length, 1, warnings.join(' | '));
        assert.match(warnings[0] ?? '', /^Session data corrupted/);
        assert.deepEqual(setCookie, []);
        assert.equal(session.modified, false, 'a read never writes back');
      });
    }

    test('data keys named like methods are data, and shadow nothing', async () => {
      const store = await backend.store();
      const { manager } = managerFor(store);
      const names = ['get', 'set', 'constructor', 'hasOwnProperty', 'toString', 'valueOf'];
      const { session } = await request(manager, null, async (s) => {
        for (const name of names) await s.set(name, `${name}!`);
        await s.set('__proto__', { polluted: true });
      });
      const key = session.sessionKey ?? '';
      await request(manager, `sessionid=${key}`, async (s) => {
        for (const name of names) {
          assert.equal(await s.get(name), `${name}!`);
          assert.equal(await s.has(name), true);
        }
        assert.deepEqual(await s.get('__proto__'), { polluted: true });
        assert.deepEqual((await s.keys()).sort(), [...names, '__proto__'].sort());
        assert.equal(typeof s.get, 'function');
        assert.equal(await s.get('isPrototypeOf'), undefined);
        assert.equal(await s.has('isPrototypeOf'), false);
      });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf({}), Object.prototype);
    });

    test('a value verified with a fallback secret is re-signed with the current one on the next save', async () => {
      const store = await backend.store();
      const old = managerFor(store, { secret: OLD_SECRET }).manager;
      const { session } = await request(old, null, (s) => s.set('user', 'ann'));
      const key = session.sessionKey ?? '';
      const rotated = managerFor(store, { secret: TEST_SECRET, fallback: OLD_SECRET }).manager;
      const onlyNew = new SessionCodec({ secret: TEST_SECRET, logger: { warn() {} } });
      const onlyOld = new SessionCodec({ secret: OLD_SECRET, logger: { warn() {} } });

      const read = await request(rotated, `sessionid=${key}`, (s) => s.get('user'));
      assert.equal(await read.session.get('user'), 'ann');
      const unchanged = (await backend.raw(store, key)) ?? '';
      assert.deepEqual(
        onlyOld.decode(unchanged),
        { user: 'ann' },
        'a read-only request writes nothing',
      );

      await request(rotated, `sessionid=${key}`, (s) => s.set('visits', 1));
      const resigned = (await backend.raw(store, key)) ?? '';
      assert.deepEqual(onlyNew.decode(resigned), { user: 'ann', visits: 1 });
      assert.equal(onlyOld.decode(resigned), null, 'the old secret no longer verifies it');
    });

    test('HashedKeyStore keeps only a hash of the key: 40 hex digits, the cookie value nowhere', async () => {
      const inner = await backend.store();
      const hashed = new HashedKeyStore(inner, TEST_SECRET);
      const { manager } = managerFor(hashed);
      const { session } = await request(manager, null, (s) => s.set('user', 'ann'));
      const key = session.sessionKey ?? '';
      assert.match(key, /^[a-z0-9]{32}$/);
      const stored = hashed.storedKey(key);
      assert.match(stored, /^[0-9a-f]{40}$/, "fits Django's varchar(40) [a-z0-9] session_key");
      assert.ok(!(await backend.dump(inner)).includes(key), 'the cookie value is not stored');
      assert.ok(await backend.raw(inner, stored));
      assert.equal(await inner.exists(key), false);

      const cycled = await request(manager, `sessionid=${key}`, async (s) => {
        assert.equal(await s.get('user'), 'ann');
        await s.cycleKey();
      });
      const newKey = cycled.session.sessionKey ?? '';
      assert.notEqual(newKey, key);
      assert.equal(await backend.raw(inner, stored), null, 'the old hashed record is gone');
      assert.equal(await hashed.exists(newKey), true);
      // A cookie holding the stored hash is no key to anything.
      const forged = await request(manager, `sessionid=${hashed.storedKey(newKey)}`, (s) =>
        s.get('user'),
      );
      assert.equal(await forged.session.get('user'), undefined);

      await request(manager, `sessionid=${newKey}`, (s) => s.flush());
      assert.equal(await backend.size(inner), 0);
    });
  });
}

describe('HashedKeyStore configuration', () => {
  test('a secret under 32 characters is refused', () => {
    assert.throws(() => new HashedKeyStore(new MemoryStore(), 'short'), ImproperlyConfigured);
  });

  test('a cookie store has no key to hash: saving through it says so', async () => {
    const { manager } = managerFor(new HashedKeyStore(new SignedCookieStore(), TEST_SECRET));
    const session = manager.open(null);
    await session.set('a', 1);
    await assert.rejects(async () => manager.commit(session, 200), ImproperlyConfigured);
  });
});
