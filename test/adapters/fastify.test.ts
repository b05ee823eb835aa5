import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { sessionPlugin } from '../../src/adapters/fastify.js';
import type { CookieJar } from '../../src/core/cookie-jar.js';
import type { Session } from '../../src/core/session.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import {
  type Equal,
  type Expect,
  runAdapterScenarios,
  SCENARIO_SECRET,
} from '../support/adapter-scenarios.js';
import type { TestServer } from '../support/http-server.js';

export type RequestTypes = [
  Expect<Equal<FastifyRequest['session'], Session>>,
  Expect<Equal<FastifyRequest['cookieJar'], CookieJar>>,
];

async function listen(app: FastifyInstance): Promise<TestServer> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, close: () => app.close() };
}

runAdapterScenarios('fastify', async (manager, handle) => {
  const app = Fastify();
  await app.register(sessionPlugin, { manager });
  app.all('/*', async (request, reply) => {
    const { session, cookieJar } = request;
    const answer = await handle({ url: request.url, session, cookieJar });
    if (answer.kind === 'redirect') return reply.redirect(answer.location);
    return reply.code(answer.status).headers(answer.headers).type('text/plain').send(answer.body);
  });
  return listen(app);
});

describe('keepstate/fastify: with Fastify features', () => {
  const manager = new SessionManager<{ name: string }>({
    store: new MemoryStore(),
    secret: SCENARIO_SECRET,
  });
  let server: TestServer;

  before(async () => {
    const app = Fastify();
    await app.register(sessionPlugin, { manager });
    // fastify-plugin breaks encapsulation: a sibling plugin's routes see the session too.
    await app.register(async (child) => {
      child.get('/child', async (request, reply) => {
        await request.session.set('name', 'child');
        reply.header('set-cookie', 'own=1; Path=/');
        return { ok: true };
      });
    });
    app.get('/whoami', async (request) => ({ name: await request.session.get('name', 'guest') }));
    server = await listen(app);
  });
  after(() => server.close());

  test("a sibling plugin's route gets the session; the reply's own cookie is kept", async () => {
    const res = await fetch(`${server.url}/child`);
    assert.deepEqual(await res.json(), { ok: true });
    const cookies = res.headers.getSetCookie();
    assert.deepEqual(
      cookies.map((cookie) => cookie.split('=')[0]),
      ['own', 'sessionid'],
    );
    const pair = cookies[1]?.split(';')[0] ?? '';
    const whoami = await fetch(`${server.url}/whoami`, { headers: { cookie: pair } });
    assert.deepEqual(await whoami.json(), { name: 'child' });
  });

  test("Fastify's 404 handler runs the hooks too: no cookie, no Vary", async () => {
    const res = await fetch(`${server.url}/nowhere`);
    assert.equal(res.status, 404);
    assert.deepEqual(res.headers.getSetCookie(), []);
    assert.equal(res.headers.get('vary'), null);
  });
});
