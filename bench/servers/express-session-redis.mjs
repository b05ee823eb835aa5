// express-session + connect-redis (RedisStore) on the node-redis client.
// Library defaults kept: prefix "sess:", TTL from cookie maxAge, touch() on unmodified
// sessions (so R costs GET + EXPIRE per request).

import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { HOST, onStop, PORT, REDIS_URL, ready } from './_common.mjs';
import { expressSessionApp } from './_express-session-app.mjs';

const client = createClient({ url: REDIS_URL });
client.on('error', (err) => console.error('redis client error', err));
await client.connect();

const server = expressSessionApp(new RedisStore({ client })).listen(PORT, HOST, () =>
  ready('express-session-redis'),
);
onStop(async () => {
  await new Promise((r) => server.close(r));
  await client.quit();
});
