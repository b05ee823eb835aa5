import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { sessionMiddleware } from '../../src/adapters/hono.js';
import type { CookieJar } from '../../src/core/cookie-jar.js';
import { SessionInterrupted } from '../../src/core/errors.js';
import type { Session } from '../../src/core/session.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import {
  type Equal,
  type Expect,
  runAdapterScenarios,
  SCENARIO_SECRET,
} from '../support/adapter-scenarios.js';
import { startServer, type TestServer } from '../support/http-server.js';

export type ContextTypes = [
  Expect<Equal<ReturnType<typeof getSession>, Session>>,
  Expect<Equal<ReturnType<typeof getCookieJar>, CookieJar>>,
];
const getSession = (c: Context) => c.get('session');
const getCookieJar = (c: Context) => c.get('cookieJar');

runAdapterScenarios('hono', (manager, handle) => {
  const app = new Hono();
  app.use(sessionMiddleware(manager));
  app.all('*', async (c) => {
    const reply = await handle({
      url: c.req.url,
      session: c.get('session'),
      cookieJar: c.get('cookieJar'),
    });
    if (reply.kind === 'redirect') return c.redirect(reply.location);
    return c.text(reply.body, reply.status as 200, { ...reply.headers });
  });
  return startServer(getRequestListener(app.fetch));
});

describe('keepstate/hono: with Hono features', () => {
  const store = new MemoryStore();
  const manager = new SessionManager<{ name: string }>({ store, secret: SCENARIO_SECRET });
  const errors: unknown[] = [];
  let server: TestServer;

  before(async () => {
    const app = new Hono();
    app.use(sessionMiddleware(manager));
    app.get('/immutable', async (c) => {
      await c.get('session').set('name', 'ann');
      return Response.redirect(new URL('/', c.req.url), 303);
    });
    app.get('/vanish', async (c) => {
      const session = c.get('session');
      await session.set('name', 'ghost');
      // What a concurrent logout does between this request's load and its save.
      await store.delete(session.sessionKey ?? '');
      c.header('x-handler', 'set');
      return c.text('vanished');
    });
    app.onError((error, c) => {
      errors.push(error);
      // As Hono's default handler does, which builds on the context's headers.
      if (error instanceof HTTPException) {
        const res = error.getResponse();
        return c.newResponse(res.body, res);
      }
      return c.text('oops', 500);
    });
    server = await startServer(getRequestListener(app.fetch));
  });
  after(() => server.close());

  test('a response with immutable headers (Response.redirect) still gets the cookie', async () => {
    const res = await fetch(`${server.url}/immutable`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.match(res.headers.getSetCookie()[0] ?? '', /^sessionid=[a-z0-9]{32};/);
    assert.equal(res.headers.getSetCookie().length, 1);
    assert.equal(res.headers.get('vary'), 'Cookie');
  });

  test('app.onError sees the interruption as an HTTPException(400) caused by SessionInterrupted', async () => {
    const login = await fetch(`${server.url}/immutable`, { redirect: 'manual' });
    const pair = login.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const res = await fetch(`${server.url}/vanish`, { headers: { cookie: pair } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.headers.getSetCookie(), []);
    assert.equal(res.headers.get('x-handler'), null, "none of the failed response's headers");
    const error = errors.at(-1);
    assert.ok(error instanceof HTTPException);
    assert.ok(error.cause instanceof SessionInterrupted);
  });
});
