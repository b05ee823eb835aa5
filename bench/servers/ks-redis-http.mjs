// keepstate on node:http with its RedisStore (ioredis): R = GET, W = GET + SET XX, N = SET NX.
import { onStop } from './_common.mjs';
import { closeServer, serveHttp } from './_keepstate.mjs';
import { redis, store } from './_ks-redis.mjs';

const server = await serveHttp('ks-redis-http', store);
onStop(async () => {
  await closeServer(server);
  await redis.quit();
});
