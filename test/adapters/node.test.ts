import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { type SessionRequestHandler, withSession } from '../../src/adapters/node-http.js';
import type { CookieJar } from '../../src/core/cookie-jar.js';
import type { Session } from '../../src/core/session.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionData } from '../../src/core/session-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import {
  type Equal,
  type Expect,
  runAdapterScenarios,
  SCENARIO_SECRET,
  type ScenarioReply,
} from '../support/adapter-scenarios.js';
import { startServer } from '../support/http-server.js';

export type HandlerTypes = Expect<
  Equal<
    Parameters<SessionRequestHandler<SessionData>>,
    [IncomingMessage, ServerResponse, Session<SessionData>, CookieJar]
  >
>;

function render(res: ServerResponse, reply: ScenarioReply): void {
  if (reply.kind === 'redirect') {
    res.writeHead(302, { Location: reply.location });
    res.end();
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(reply.body);
}

runAdapterScenarios('node', (manager, handle) =>
  startServer(
    withSession(manager, async (req, res, session, cookieJar) => {
      render(res, await handle({ url: req.url ?? '/', session, cookieJar }));
    }),
  ),
);

test('keepstate/node: a handler that throws after end() keeps its response and session', async (t) => {
  t.mock.method(console, 'error', () => {});
  const store = new MemoryStore();
  const manager = new SessionManager({ store, secret: SCENARIO_SECRET });
  const server = await startServer(
    withSession(manager, async (_req, res, session) => {
      await session.set('name', 'ann');
      res.end('done');
      throw new Error('a bug after the response was sent');
    }),
  );
  try {
    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'done');
    assert.match(res.headers.getSetCookie()[0] ?? '', /^sessionid=/);
    assert.equal(store.size, 1);
  } finally {
    await server.close();
  }
});

test('keepstate/node: a synchronous handler is answered, with its cookies, and one that throws gets a 500', async (t) => {
  const errors = t.mock.method(console, 'error', () => {});
  const manager = new SessionManager({ store: new MemoryStore(), secret: SCENARIO_SECRET });
  const server = await startServer(
    withSession(manager, (req, res, _session, cookieJar) => {
      if (req.url === '/throw') throw new Error('a synchronous bug');
      cookieJar.setCookie('seen', 'yes');
      res.end('sync');
    }),
  );
  try {
    const ok = await fetch(server.url);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'sync');
    assert.deepEqual(
      ok.headers.getSetCookie().map((cookie) => cookie.split(';')[0]),
      ['seen=yes'],
    );
    const failed = await fetch(`${server.url}/throw`);
    assert.equal(failed.status, 500);
    await failed.text();
    assert.equal(errors.mock.callCount(), 1);
    assert.equal((await fetch(server.url)).status, 200);
  } finally {
    await server.close();
  }
});
