// keepstate's Fastify plugin with its MemoryStore.
import { HOST, onStop, PORT, ready } from './_common.mjs';
import { keepstate } from './_keepstate.mjs';
import { ksFastifyApp } from './_ks-fastify-app.mjs';

const { MemoryStore } = await keepstate();
const app = await ksFastifyApp(new MemoryStore());
await app.listen({ port: PORT, host: HOST });
ready('ks-fastify-memory');
onStop(() => app.close());
