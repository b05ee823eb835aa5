// keepstate's Express middleware with its RedisStore (ioredis).
import { HOST, onStop, PORT, ready } from './_common.mjs';
import { ksExpressApp } from './_ks-express-app.mjs';
import { redis, store } from './_ks-redis.mjs';

const server = ksExpressApp(store).listen(PORT, HOST, () => ready('ks-express-redis'));
onStop(async () => {
  await new Promise((r) => server.close(r));
  await redis.quit();
});
