import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { StoreError } from '../../src/core/errors.js';
import { encodeSessionData } from '../../src/core/session-codec.js';
import { generateSessionKey } from '../../src/core/session-key.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { attach, TEST_SECRET } from '../support/attach.js';
import {
  type RedisCluster,
  redisClusterTools,
  startRedisCluster,
} from '../support/redis-cluster.js';
import { needService } from '../support/services.js';
import { storeSuite } from '../support/store-suite.js';
import { testClock } from '../support/test-clock.js';

const PREFIX = `keepstate-test-${randomUUID()}`;

/** What RedisStore's TSDoc tells users to set on a Cluster. */
const BOUNDED = {
  enableOfflineQueue: false,
  redisOptions: { connectTimeout: 2_000, commandTimeout: 2_000, maxRetriesPerRequest: 1 },
};

const skip = await needService(
  'redis-server and redis-cli (to start a Redis Cluster)',
  redisClusterTools,
  'apt-get install -y redis-server (it brings redis-cli)',
);

/** Resolves once `cluster` can serve commands. */
function ready(cluster: Cluster): Promise<void> {
  return new Promise((resolve, reject) => {
    cluster.once('ready', () => resolve());
    cluster.once('end', () => reject(new Error('the cluster client gave up connecting')));
  });
}

describe('RedisStore on a Redis Cluster of three masters', { skip }, () => {
  let servers: RedisCluster;
  let cluster: Cluster;

  before(async () => {
    servers = await startRedisCluster();
    cluster = new Cluster([...servers.nodes], BOUNDED);
    await ready(cluster);
  });

  after(async () => {
    cluster?.disconnect();
    await servers?.stop();
  });

  // A prefix per store: the suite's user indexes (user "u1", say) must start empty each time.
  storeSuite('RedisStore (cluster)', (clock) =>
    attach(new RedisStore(cluster, { prefix: `${PREFIX}:${randomUUID()}` }), clock),
  );

  test('sessions spread over all three masters, and every one round-trips', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(cluster, { prefix: PREFIX }), clock);
    const expiresAt = new Date(clock().getTime() + 600_000);
    const records = Array.from({ length: 60 }, (_, i) => ({
      sessionKey: generateSessionKey(),
      data: { i },
      expiresAt,
    }));
    await Promise.all(records.map((rec) => store.create(rec)));

    const perMaster: number[] = [];
    for (const node of servers.nodes) {
      const direct = new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 1 });
      try {
        let count = 0;
        for (const rec of records) {
          const key = `${PREFIX}:${rec.sessionKey}`;
          // A node answers only for its own slots: anything else is a MOVED error.
          const value = await direct.get(key).catch(() => null);
          if (value !== null) {
            assert.equal(value, encodeSessionData(rec.data, { secret: TEST_SECRET, clock }));
            count++;
          }
        }
        perMaster.push(count);
      } finally {
        direct.disconnect();
      }
    }
    assert.equal(perMaster.length, 3);
    assert.ok(
      perMaster.every((count) => count > 0),
      `keys per master: ${perMaster.join(', ')}`,
    );
    assert.equal(
      perMaster.reduce((a, b) => a + b, 0),
      records.length,
    );

    for (const rec of records) {
      assert.deepEqual((await store.load(rec.sessionKey))?.data, rec.data);
      await store.delete(rec.sessionKey);
      assert.equal(await store.exists(rec.sessionKey), false);
    }
  });

  test("a user's index lives in another slot than the sessions, and still lists and deletes them all", async () => {
    const clock = testClock();
    const prefix = `${PREFIX}:${randomUUID()}`;
    const store = attach(new RedisStore(cluster, { prefix }), clock);
    const expiresAt = new Date(clock().getTime() + 600_000);
    const records = Array.from({ length: 12 }, () => ({
      sessionKey: generateSessionKey(),
      data: { _keepstate_user: 'u1' },
      expiresAt,
      userId: 'u1',
    }));
    await Promise.all(records.map((rec) => store.create(rec)));
    const slot = (key: string) => cluster.cluster('KEYSLOT', key);
    const indexSlot = await slot(`${prefix}:keepstate:user:u1`);
    const sessionSlots = await Promise.all(
      records.map((rec) => slot(`${prefix}:${rec.sessionKey}`)),
    );
    assert.ok(sessionSlots.some((s) => s !== indexSlot));
    assert.equal((await store.listSessions('u1')).length, records.length);
    const [kept] = records;
    await Promise.all(
      records.map((rec) => store.update(rec.sessionKey, (data) => ({ ...rec, data }))),
    );
    assert.equal(
      await store.deleteUserSessions('u1', { except: kept?.sessionKey ?? null }),
      records.length - 1,
    );
    assert.equal((await store.listSessions('u1')).length, 1);
  });

  test('a cluster that cannot be reached gives StoreError', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const unreachable = new Cluster([{ host: '127.0.0.1', port }], {
      ...BOUNDED,
      redisOptions: { ...BOUNDED.redisOptions, connectTimeout: 200, commandTimeout: 200 },
    });
    unreachable.on('error', () => {});
    try {
      const clock = testClock();
      const store = attach(new RedisStore(unreachable, { prefix: PREFIX }), clock);
      const rec = {
        sessionKey: generateSessionKey(),
        data: {},
        expiresAt: new Date(clock().getTime() + 60_000),
      };
      for (const operation of [
        () => store.load(rec.sessionKey),
        () => store.create(rec),
        () => store.save(rec),
        () => store.delete(rec.sessionKey),
        () => store.exists(rec.sessionKey),
      ]) {
        await assert.rejects(operation(), StoreError);
      }
    } finally {
      unreachable.disconnect();
    }
  });

  // Last: it takes the servers down.
  test('a cluster that goes down gives StoreError', async () => {
    const clock = testClock();
    const store = attach(new RedisStore(cluster, { prefix: PREFIX }), clock);
    const sessionKey = generateSessionKey();
    await store.create({
      sessionKey,
      data: { a: 1 },
      expiresAt: new Date(clock().getTime() + 60_000),
    });
    cluster.on('error', () => {});
    await servers.stop();
    await assert.rejects(store.load(sessionKey), StoreError);
    await assert.rejects(store.exists(sessionKey), StoreError);
  });
});
