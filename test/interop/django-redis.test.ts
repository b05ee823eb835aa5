/**
 * django-redis-sessions' layout (`test/interop/redis_sessions_engine.py`, Django's encoding under
 * `prefix:key` with `SETEX`) and keepstate's `RedisStore` on one Redis server: the round trips
 * of `engine-round-trips.ts`, for Django 5.2 and 3.2.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/stores/redis-store.js';
import {
  type DjangoAvailability,
  type DjangoRelease,
  findDjango,
  withModules,
} from '../support/django.js';
import { needService } from '../support/services.js';
import { type EngineHarness, engineRoundTrips } from './engine-round-trips.js';
import { tamper } from './values.js';

const REDIS_URL = process.env.KEEPSTATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const url = new URL(REDIS_URL);
/** Every command fails fast instead of queueing while Redis is away. */
const BOUNDED = { connectTimeout: 2_000, commandTimeout: 2_000, maxRetriesPerRequest: 1 };

const unavailable = await needService(
  `Redis at ${url.host}`,
  async () => {
    const probe = new Redis(REDIS_URL, { ...BOUNDED, retryStrategy: () => null });
    try {
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  },
  'start one (apt-get install -y redis-server; redis-server --port 6379) or set KEEPSTATE_TEST_REDIS_URL',
);

function redisHarness(release: DjangoRelease): EngineHarness {
  // SESSION_REDIS['prefix'] and RedisStore's prefix: every key of this run starts with it.
  const prefix = `keepstate-django-${release}-${randomUUID()}`;
  let client: Redis | undefined;
  const redis = () => {
    client ??= new Redis(REDIS_URL, BOUNDED);
    return client;
  };
  const db = Number(url.pathname.slice(1) || 0);
  return {
    engine: 'redis',
    title: "django-redis-sessions' layout on Redis",
    settings: {
      redis: { host: url.hostname, port: Number(url.port || 6379), db, prefix },
    },
    store: () => new RedisStore(redis(), { prefix }),
    async tamper(key) {
      const stored = `${prefix}:${key}`;
      const value = await redis().get(stored);
      if (value === null) throw new Error(`no ${stored} in Redis`);
      await redis().set(stored, tamper(value), 'KEEPTTL');
      return key;
    },
    async cleanup() {
      const keys = await redis().keys(`${prefix}:*`);
      if (keys.length > 0) await redis().del(...keys);
      redis().disconnect();
    },
  };
}

for (const release of ['5.2', '3.2'] as const) {
  const django: DjangoAvailability = unavailable
    ? { reason: unavailable }
    : withModules(await findDjango(release), ['redis']);
  engineRoundTrips(redisHarness(release), release, django);
}
