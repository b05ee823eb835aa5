// Bare Fastify 5 (logger off), no session: the floor for the @fastify/session rows.
import Fastify from 'fastify';
import { HOST, onStop, PORT, ready } from './_common.mjs';

const app = Fastify({ logger: false });
const handler = async (_req, reply) => {
  reply.type('text/plain; charset=utf-8');
  return 'count=0';
};
app.get('/health', handler);
app.get('/read', handler);
app.get('/write', handler);
app.get('/new', handler);
await app.listen({ port: PORT, host: HOST });
ready('baseline-fastify');
onStop(() => app.close());
