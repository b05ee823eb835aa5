import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { withSession } from '../../src/adapters/web.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { runAdapterScenarios, SCENARIO_SECRET } from '../support/adapter-scenarios.js';
import { startServer, type TestServer } from '../support/http-server.js';

// The Web adapter has no server of its own: @hono/node-server's listener turns node:http into
// Request and Response (a thrown error becomes an empty 500, as a platform would answer).
runAdapterScenarios('web', (manager, handle) =>
  startServer(
    getRequestListener(
      withSession(manager, async (request, session, cookieJar) => {
        const reply = await handle({ url: request.url, session, cookieJar });
        if (reply.kind === 'redirect') {
          // Response.redirect's headers are immutable: the adapter must copy the response.
          return Response.redirect(new URL(reply.location, request.url), 302);
        }
        return new Response(reply.body, {
          status: reply.status,
          headers: { ...reply.headers, 'content-type': 'text/plain; charset=utf-8' },
        });
      }),
    ),
  ),
);

describe('keepstate/web: platform conventions', () => {
  const manager = new SessionManager<{ name: string }>({
    store: new MemoryStore(),
    secret: SCENARIO_SECRET,
  });
  const request = (path: string) => new Request(`http://127.0.0.1${path}`);

  test("a thrown Response (React Router's `throw redirect()`) is committed and thrown again", async () => {
    const handler = withSession(manager, async (_request, session) => {
      await session.set('name', 'ann');
      throw Response.redirect('http://127.0.0.1/login', 302);
    });
    const thrown = await handler(request('/')).then(
      () => assert.fail('the response must be thrown'),
      (error: unknown) => error,
    );
    assert.equal(Object.prototype.toString.call(thrown), '[object Response]');
    assert.equal((thrown as Response).status, 302);
    assert.match((thrown as Response).headers.getSetCookie()[0] ?? '', /^sessionid=[a-z0-9]{32};/);
  });

  test("extra arguments (Next.js's { params }) reach the handler", async () => {
    const handler = withSession(
      manager,
      async (_request, session, _cookieJar, context: { params: Promise<{ id: string }> }) => {
        await session.set('name', (await context.params).id);
        return Response.json({ ok: true });
      },
    );
    const response = await handler(request('/users/7'), { params: Promise.resolve({ id: '7' }) });
    assert.deepEqual(await response.json(), { ok: true });
    assert.equal(response.headers.getSetCookie().length, 1);
  });

  test('an untouched request gets the very same Response back', async () => {
    const original = new Response('hi');
    const response = await withSession(manager, () => original)(request('/'));
    assert.equal(response, original);
  });
});

describe('keepstate/web: served', () => {
  let server: TestServer;
  const manager = new SessionManager({ store: new MemoryStore(), secret: SCENARIO_SECRET });
  before(async () => {
    server = await startServer(
      getRequestListener(
        withSession(manager, async (_request, session) => {
          await session.set('visits', ((await session.get('visits', 0)) as number) + 1);
          // A fetch() response has immutable headers too.
          return fetch('data:text/plain,proxied');
        }),
      ),
    );
  });
  after(() => server.close());

  test('a proxied fetch() response gets the cookie on a copy', async () => {
    const res = await fetch(server.url);
    assert.equal(await res.text(), 'proxied');
    assert.match(res.headers.getSetCookie()[0] ?? '', /^sessionid=/);
  });
});
