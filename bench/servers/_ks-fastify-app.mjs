// The Fastify 5 app of the keepstate Fastify scenarios (keepstate/fastify); only the store differs.
import Fastify from 'fastify';
import { keepstate, manager, route } from './_keepstate.mjs';

const { sessionPlugin } = await keepstate('adapters/fastify.js');

export async function ksFastifyApp(store) {
  const app = Fastify({ logger: false });
  app.get('/health', async (_req, reply) => {
    reply.type('text/plain; charset=utf-8');
    return 'ok';
  });
  await app.register(async (scope) => {
    await scope.register(sessionPlugin, { manager: manager(store) });
    const handler = async (req, reply) => {
      reply.type('text/plain; charset=utf-8');
      return route(req.routeOptions.url, req.session, (status, body) => {
        reply.code(status);
        return body;
      });
    };
    scope.get('/read', handler);
    scope.get('/write', handler);
    scope.get('/new', handler);
  });
  return app;
}
