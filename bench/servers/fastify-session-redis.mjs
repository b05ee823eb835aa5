// @fastify/session + @fastify/cookie with connect-redis's RedisStore (the plugin accepts
// express-session-compatible stores; its README shows connect-redis). @fastify/session
// never calls touch(), so R costs one GET per request.

import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { HOST, onStop, PORT, REDIS_URL, ready } from './_common.mjs';
import { fastifySessionApp } from './_fastify-session-app.mjs';

const client = createClient({ url: REDIS_URL });
client.on('error', (err) => console.error('redis client error', err));
await client.connect();

const app = await fastifySessionApp(new RedisStore({ client }));
await app.listen({ port: PORT, host: HOST });
ready('fastify-session-redis');
onStop(async () => {
  await app.close();
  await client.quit();
});
