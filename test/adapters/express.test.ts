import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import express, { type Request } from 'express';
import { sessionMiddleware } from '../../src/adapters/express.js';
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
import { startServer, type TestServer } from '../support/http-server.js';

export type RequestTypes = [
  Expect<Equal<Request['session'], Session>>,
  Expect<Equal<Request['cookieJar'], CookieJar>>,
];

runAdapterScenarios('express', (manager, handle) => {
  const app = express();
  // Express's development mode prints the stack of an uncaught error in its error page.
  app.set('env', 'production');
  app.use(sessionMiddleware(manager));
  app.use(async (req, res) => {
    const reply = await handle({
      url: req.originalUrl,
      session: req.session,
      cookieJar: req.cookieJar,
    });
    if (reply.kind === 'redirect') return res.redirect(reply.location);
    res.status(reply.status).set(reply.headers).type('text/plain').send(reply.body);
  });
  return startServer(app);
});

describe('keepstate/express: with Express features', () => {
  const manager = new SessionManager<{ name: string }>({
    store: new MemoryStore(),
    secret: SCENARIO_SECRET,
  });
  let server: TestServer;

  before(async () => {
    const app = express();
    app.use(sessionMiddleware(manager));
    app.get('/express-cookie', async (req, res) => {
      await req.session.set('name', 'ann');
      res.cookie('theme', 'dark').json({ ok: true });
    });
    app.get('/stream', async (req, res) => {
      await req.session.set('name', 'streamer');
      res.write('a');
      res.write('b');
      res.end('c');
    });
    app.get('/json', async (req, res) => {
      res.json({ name: await req.session.get('name', 'guest') });
    });
    server = await startServer(app);
  });
  after(() => server.close());

  test("Express's own res.cookie() and the session cookie both leave", async () => {
    const res = await fetch(`${server.url}/express-cookie`);
    const names = res.headers.getSetCookie().map((cookie) => cookie.split('=')[0]);
    assert.deepEqual(names, ['theme', 'sessionid']);
  });

  test('a streamed response carries the cookie and the whole body', async () => {
    const res = await fetch(`${server.url}/stream`);
    assert.equal(await res.text(), 'abc');
    const pair = res.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const json = await fetch(`${server.url}/json`, { headers: { cookie: pair } });
    assert.deepEqual(await json.json(), { name: 'streamer' });
  });
});
