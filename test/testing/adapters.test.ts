import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { sessionMiddleware as expressSession } from '../../src/adapters/express.js';
import { sessionPlugin } from '../../src/adapters/fastify.js';
import { sessionMiddleware as honoSession } from '../../src/adapters/hono.js';
import { sessionMiddleware as koaSession } from '../../src/adapters/koa.js';
import { withSession as nodeSession } from '../../src/adapters/node-http.js';
import { withSession as webSession } from '../../src/adapters/web.js';
import type { Session } from '../../src/core/session.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { EncryptedCookieStore } from '../../src/stores/encrypted-cookie-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { mintSessionCookie } from '../../src/testing/mint-session-cookie.js';
import { readSession, type SetCookieSource } from '../../src/testing/read-session.js';
import { SCENARIO_SECRET } from '../support/adapter-scenarios.js';
import { startServer } from '../support/http-server.js';

/** One request to the app under test, the way its framework's test tools send it. */
type Send = (
  path: string,
  cookie?: string,
) => Promise<{ readonly body: string; readonly response: SetCookieSource }>;

/** An app for one adapter, serving {@link route}, and how to reach it. */
interface App {
  readonly send: Send;
  close(): Promise<void>;
}

/** The routes every app serves: read, log in, log out, and one that never touches the session. */
async function route(url: string, session: Session): Promise<string> {
  const { pathname, searchParams } = new URL(url, 'http://127.0.0.1');
  switch (pathname) {
    case '/whoami':
      return String(await session.get('name', 'guest'));
    case '/login':
      await session.cycleKey();
      await session.set('name', searchParams.get('name') ?? 'anon');
      return 'logged in';
    case '/logout':
      await session.flush();
      return 'logged out';
    default:
      return 'untouched';
  }
}

const cookieHeaders = (cookie: string | undefined) => (cookie === undefined ? {} : { cookie });

/** Sends real requests to a server on 127.0.0.1 with fetch. */
async function served(listener: Parameters<typeof startServer>[0]): Promise<App> {
  const server = await startServer(listener);
  return {
    send: async (path, cookie) => {
      const response = await fetch(`${server.url}${path}`, { headers: cookieHeaders(cookie) });
      return { body: await response.text(), response };
    },
    close: () => server.close(),
  };
}

const apps: Record<string, (manager: SessionManager) => Promise<App>> = {
  // Express and Koa have no in-process request injection: a real server on an ephemeral port.
  express: (manager) => {
    const app = express();
    app.use(expressSession(manager));
    app.use(async (req, res) => {
      res.type('text/plain').send(await route(req.originalUrl, req.session));
    });
    return served(app);
  },
  koa: (manager) => {
    const app = new Koa();
    app.use(koaSession(manager));
    app.use(async (ctx) => {
      ctx.body = await route(ctx.url, ctx.session);
    });
    return served(app.callback());
  },
  node: (manager) =>
    served(
      nodeSession(manager, async (req, res, session) => {
        res.end(await route(req.url ?? '/', session));
      }),
    ),
  // Fastify injects requests without a socket.
  fastify: async (manager) => {
    const app = Fastify();
    await app.register(sessionPlugin, { manager });
    app.get('/*', async (request) => route(request.url, request.session));
    await app.ready();
    return {
      send: async (path, cookie) => {
        const response = await app.inject({ url: path, headers: cookieHeaders(cookie) });
        return { body: response.body, response };
      },
      close: () => app.close(),
    };
  },
  // Hono answers a Request in process.
  hono: async (manager) => {
    const app = new Hono();
    app.use(honoSession(manager));
    app.get('*', async (c) => c.text(await route(c.req.url, c.get('session'))));
    return {
      send: async (path, cookie) => {
        const response = await app.request(path, { headers: cookieHeaders(cookie) });
        return { body: await response.text(), response };
      },
      close: async () => {},
    };
  },
  // A web handler is a function of a Request.
  web: async (manager) => {
    const handler = webSession(
      manager,
      async (request, session) => new Response(await route(request.url, session)),
    );
    return {
      send: async (path, cookie) => {
        const response = await handler(
          new Request(`http://127.0.0.1${path}`, { headers: cookieHeaders(cookie) }),
        );
        return { body: await response.text(), response };
      },
      close: async () => {},
    };
  },
};

const stores: Record<string, () => SessionStore> = {
  MemoryStore: () => new MemoryStore(),
  EncryptedCookieStore: () => new EncryptedCookieStore(),
};

for (const [adapter, start] of Object.entries(apps)) {
  for (const [storeName, makeStore] of Object.entries(stores)) {
    describe(`keepstate/testing with keepstate/${adapter} over ${storeName}`, () => {
      const manager = new SessionManager({ store: makeStore(), secret: SCENARIO_SECRET });
      let app: App;
      before(async () => {
        app = await start(manager);
      });
      after(() => app.close());

      test('the app sees the session of a minted cookie', async () => {
        const cookie = await mintSessionCookie(manager, { name: 'ann' });
        assert.equal((await app.send('/whoami', cookie)).body, 'ann');
        assert.equal((await app.send('/whoami')).body, 'guest');
      });

      test('readSession reads what a response stored', async () => {
        const { body, response } = await app.send('/login?name=bob');
        assert.equal(body, 'logged in');
        assert.deepEqual(await readSession(manager, response), { name: 'bob' });
      });

      test('readSession of a response that deleted the session is null', async () => {
        const cookie = await mintSessionCookie(manager, { name: 'ann' });
        const { response } = await app.send('/logout', cookie);
        assert.equal(await readSession(manager, response), null);
      });

      test('readSession of a response that set no session cookie is null', async () => {
        const cookie = await mintSessionCookie(manager, { name: 'ann' });
        assert.equal(
          await readSession(manager, (await app.send('/untouched', cookie)).response),
          null,
        );
        assert.equal(
          await readSession(manager, (await app.send('/whoami', cookie)).response),
          null,
        );
      });
    });
  }
}
