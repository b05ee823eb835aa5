// keepstate's Fastify plugin with its RedisStore (ioredis).
import { HOST, onStop, PORT, ready } from './_common.mjs';
import { ksFastifyApp } from './_ks-fastify-app.mjs';
import { redis, store } from './_ks-redis.mjs';

const app = await ksFastifyApp(store);
await app.listen({ port: PORT, host: HOST });
ready('ks-fastify-redis');
onStop(async () => {
  await app.close();
  await redis.quit();
});
