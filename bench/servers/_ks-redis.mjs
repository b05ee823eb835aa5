// The ioredis client and RedisStore of the keepstate Redis scenarios, set up as README.md advises.
import { REDIS_URL } from './_common.mjs';
import { keepstate } from './_keepstate.mjs';

// The drivers are keepstate's own dev dependencies (the repo's node_modules), not the bench's.
const { Redis } = await import('ioredis');
const { RedisStore } = await keepstate('stores/redis-store.js');

export const redis = new Redis(REDIS_URL, {
  connectTimeout: 2_000,
  commandTimeout: 1_000,
  maxRetriesPerRequest: 1,
  enableAutoPipelining: true,
});
redis.on('error', (err) => console.error('redis client error', err));
export const store = new RedisStore(redis, { prefix: 'session' });
