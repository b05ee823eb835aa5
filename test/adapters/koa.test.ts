import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Koa, { type ParameterizedContext } from 'koa';
import { sessionMiddleware } from '../../src/adapters/koa.js';
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
  Expect<Equal<ParameterizedContext['session'], Session>>,
  Expect<Equal<ParameterizedContext['cookieJar'], CookieJar>>,
];

runAdapterScenarios('koa', (manager, handle) => {
  const app = new Koa();
  // Koa logs every 5xx with its stack on stderr unless silent; the scenarios cause some.
  app.silent = true;
  app.use(sessionMiddleware(manager));
  app.use(async (ctx) => {
    const reply = await handle({ url: ctx.url, session: ctx.session, cookieJar: ctx.cookieJar });
    if (reply.kind === 'redirect') return ctx.redirect(reply.location);
    ctx.status = reply.status;
    ctx.set(reply.headers);
    ctx.type = 'text/plain';
    ctx.body = reply.body;
  });
  return startServer(app.callback());
});

describe('keepstate/koa: with Koa features', () => {
  const store = new MemoryStore();
  const manager = new SessionManager<{ name: string }>({ store, secret: SCENARIO_SECRET });
  const errors: unknown[] = [];
  let server: TestServer;

  before(async () => {
    const app = new Koa();
    app.on('error', (error) => errors.push(error));
    app.use(sessionMiddleware(manager));
    app.use(async (ctx, next) => {
      if (ctx.path !== '/vanish') return next();
      await ctx.session.set('name', 'ghost');
      // What a concurrent logout does between this request's load and its save.
      await store.delete(ctx.session.sessionKey ?? '');
      ctx.body = 'vanished';
    });
    app.use(async (ctx) => {
      await ctx.session.set('name', ctx.cookies.get('name') ?? 'anon');
      ctx.cookies.set('koa', 'own', { httpOnly: false });
      ctx.body = { name: await ctx.session.get('name') };
    });
    server = await startServer(app.callback());
  });
  after(() => server.close());

  test("Koa's own ctx.cookies works beside the cookie jar, and both cookies leave", async () => {
    const res = await fetch(`${server.url}/`, { headers: { cookie: 'name=zoe' } });
    assert.deepEqual(await res.json(), { name: 'zoe' });
    const names = res.headers.getSetCookie().map((cookie) => cookie.split('=')[0]);
    assert.deepEqual(names, ['koa', 'sessionid']);
    assert.equal(res.headers.get('vary'), 'Cookie');
  });

  test('an interruption reaches Koa as an exposed 400 whose cause is SessionInterrupted', async () => {
    const login = await fetch(`${server.url}/`);
    const pair = login.headers.getSetCookie()[1]?.split(';')[0] ?? '';
    const res = await fetch(`${server.url}/vanish`, { headers: { cookie: pair } });
    assert.equal(res.status, 400);
    assert.equal(await res.text(), 'Session interrupted');
    assert.deepEqual(res.headers.getSetCookie(), []);
    const error = errors.at(-1) as { status?: number; expose?: boolean; cause?: unknown };
    assert.equal(error.status, 400);
    assert.equal(error.expose, true, 'Koa does not log an exposed error');
    assert.ok(error.cause instanceof SessionInterrupted);
  });
});
