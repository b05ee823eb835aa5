// The Fastify app shared by the @fastify/session scenarios; only the store differs.

import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { MAX_AGE_MS, NO_SESSION, SECRET } from './_common.mjs';

export async function fastifySessionApp(
  store /* undefined = @fastify/session's in-memory store */,
) {
  const app = Fastify({ logger: false });
  app.get('/health', async (_req, reply) => {
    reply.type('text/plain; charset=utf-8');
    return 'ok';
  });
  await app.register(async (scope) => {
    await scope.register(fastifyCookie);
    await scope.register(fastifySession, {
      secret: SECRET,
      store,
      saveUninitialized: false, // as for express-session: no empty sessions
      rolling: false, // default is true (save + Set-Cookie on every response);
      // false matches Django's default and the R workload's "nothing modified"
      cookie: { maxAge: MAX_AGE_MS, secure: false }, // secure defaults to true, which never saves over plain HTTP
    });
    scope.get('/read', async (req, reply) => {
      reply.type('text/plain; charset=utf-8');
      const n = req.session.get('count');
      if (typeof n !== 'number') {
        reply.code(409);
        return NO_SESSION;
      }
      return `count=${n}`;
    });
    scope.get('/write', async (req, reply) => {
      reply.type('text/plain; charset=utf-8');
      const n = req.session.get('count');
      if (typeof n !== 'number') {
        reply.code(409);
        return NO_SESSION;
      }
      req.session.set('count', n + 1);
      return `count=${n + 1}`;
    });
    scope.get('/new', async (req, reply) => {
      reply.type('text/plain; charset=utf-8');
      req.session.set('count', 0);
      return 'count=0';
    });
  });
  return app;
}
