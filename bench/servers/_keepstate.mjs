// keepstate as the scenario servers use it: loaded from the repo's build output (npm run build),
// plus the node:http app shared by the ks-*-http scenarios. Only the store differs between them.
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HOST, NO_SESSION, PORT, ready, SECRET } from './_common.mjs';

// KEEPSTATE_DIST points at another build (say, a copy of the last release) to compare two builds.
const DIST = process.env.KEEPSTATE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url));

/** A module of keepstate's build output, by its path under dist/ (e.g. 'adapters/node-http.js'). */
export function keepstate(path = 'index.js') {
  return import(pathToFileURL(join(DIST, path)).href);
}

const { SessionManager } = await keepstate();

/** The manager every keepstate scenario uses: Django's defaults, the bench's secret. */
export function manager(store) {
  return new SessionManager({ secret: SECRET, store });
}

export function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body);
}

/** The three workload routes on a keepstate session (the contract in _common.mjs). */
export async function route(url, session, reply) {
  if (url === '/new') {
    await session.set('count', 0);
    return reply(200, 'count=0');
  }
  if (url !== '/read' && url !== '/write') return reply(404, 'not found');
  const n = await session.get('count');
  if (typeof n !== 'number') return reply(409, NO_SESSION);
  if (url === '/read') return reply(200, `count=${n}`);
  await session.set('count', n + 1);
  return reply(200, `count=${n + 1}`);
}

/** Starts keepstate's node:http adapter on `store`; resolves to the server once it listens. */
export async function serveHttp(name, store) {
  const { withSession } = await keepstate('adapters/node-http.js');
  const sessions = manager(store);
  const app = withSession(sessions, (req, res, session) =>
    route(req.url, session, (status, body) => send(res, status, body)),
  );
  const server = http.createServer((req, res) => {
    if (req.url === '/health') send(res, 200, 'ok');
    else app(req, res);
  });
  await new Promise((resolve) => server.listen(PORT, HOST, resolve));
  ready(name);
  return server;
}

export function closeServer(server) {
  return new Promise((resolve) => server.close(resolve));
}
