// @fastify/session + @fastify/cookie with the plugin's default in-memory store.
import { HOST, onStop, PORT, ready } from './_common.mjs';
import { fastifySessionApp } from './_fastify-session-app.mjs';

const app = await fastifySessionApp(undefined);
await app.listen({ port: PORT, host: HOST });
ready('fastify-session-memory');
onStop(() => app.close());
