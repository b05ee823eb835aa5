#!/usr/bin/env node
// The lost-update scenario under each session library: how many concurrent changes to one
// session survive.
//
//   own keys   one session; 20 parallel requests, request i sets its own key `k<i>`; then one
//              more request reads the session and counts how many of the 20 keys are there.
//   same key   one session; two parallel requests set `x` to 'a' and to 'b'; then one more
//              request reads `x` (it must be one of the two) and checks the session still loads.
//
// Every handler reads the session, waits a few milliseconds (the I/O a real handler does between
// reading and writing), then writes. The waits come from a seeded generator and travel in the
// query string, so every library sees the same waits in the same round. Each round starts a fresh
// session. The client keeps one cookie jar per session and applies every Set-Cookie as its
// response arrives, as a browser does: for cookie sessions the last response to arrive wins.
//
// Each library runs as a tiny server inside this process on 127.0.0.1 (a free port). keepstate is
// loaded from dist/ (npm run build), the peers from bench/node_modules, the drivers from the
// repo's node_modules. Redis: REDIS_URL (default redis://127.0.0.1:6379), keys under a prefix of
// this run's own, deleted at the end. PostgreSQL: BENCH_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test), a table of this run's own, dropped at the end.
// Django (django.contrib.sessions: the db engine on SQLite, and signed_cookies) runs as a child
// process, servers/django_lost_updates.py: real Django behind a threaded WSGI server on a free
// 127.0.0.1 port, with the interpreter of the test suite's venv (.cache/django-5.2, see
// test/support/django.ts) or else /usr/bin/python3 (Debian's Django 3.2); the row is labelled
// with the Django version the child reports.
// A library whose server is missing is reported as skipped. Everything is bounded by --timeout.
//
//   node bench/lost-updates.mjs [--rounds 10] [--timeout 60] [--only ks-,express] [--json [file]]

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CookieJar } from './lib/cookie-jar.mjs';
import { HOST, loopbackUrl } from './lib/net.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');

const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz'; // as servers/_common.mjs
const MAX_AGE_S = 14 * 24 * 3600;
const PARALLEL = 20;
const DELAY_MIN_MS = 5;
const DELAY_MAX_MS = 20;
const REQUEST_TIMEOUT_MS = 5_000;
const KEYS = ['init', 'x', ...Array.from({ length: PARALLEL }, (_, i) => `k${i}`)];
const NAMES = /^(k\d{1,2}|x)$/;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// This run's own Redis keys and PostgreSQL table: nothing else is touched.
const PREFIX = `keepstate-lost-updates:${process.pid}:`;
const PG_TABLE = `keepstate_lost_updates_${process.pid}`;
// Django: the test suite's venv first (test/support/django.ts makes it), then Debian's python3.
const DJANGO_SERVER = join(BENCH, 'servers', 'django_lost_updates.py');
const DJANGO_PYTHONS = [join(ROOT, '.cache', 'django-5.2', 'bin', 'python'), '/usr/bin/python3'];
const DJANGO_START_MS = 9_000; // under runLibrary's 10 s, so the child is killed before that fires

// ---------------------------------------------------------------------------------------------
// Options

const HELP = `usage: node bench/lost-updates.mjs [options]

  --rounds N      rounds per scenario and library, a fresh session each (default 10)
  --timeout S     global time limit in seconds (default 60); cleans up and exits 2 when reached
  --only A,B      only the libraries whose id contains one of these substrings
  --json [FILE]   also write the raw numbers (default bench/results/lost-updates.json)
  --list          list the library ids and exit
  --help          this text

Redis: REDIS_URL (default redis://127.0.0.1:6379). PostgreSQL: BENCH_POSTGRES_URL
(default postgres://postgres@127.0.0.1:5432/test). keepstate comes from dist/ (npm run build).
Django: .cache/django-5.2/bin/python (the test suite's venv), else /usr/bin/python3.`;

function parseArgs(argv) {
  const options = { rounds: 10, timeout: 60, only: null, json: null, list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--help' || arg === '-h') {
      console.log(HELP);
      process.exit(0);
    } else if (arg === '--rounds') options.rounds = positiveInt(next(), arg);
    else if (arg === '--timeout') options.timeout = positiveInt(next(), arg);
    else if (arg === '--only') options.only = next().split(',').filter(Boolean);
    else if (arg === '--list') options.list = true;
    else if (arg === '--json') {
      options.json =
        argv[i + 1] && !argv[i + 1].startsWith('--')
          ? resolve(argv[++i])
          : join(BENCH, 'results', 'lost-updates.json');
    } else throw new Error(`unknown option ${arg} (see --help)`);
  }
  return options;
}

function positiveInt(text, name) {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Clean-up: every server, client, Redis key and temp file registers how to undo itself.

const cleanups = [];

function onCleanup(fn) {
  cleanups.push(fn);
  // Runs `fn` now unless a clean-up already ran it.
  return async () => {
    const at = cleanups.indexOf(fn);
    if (at < 0) return;
    cleanups.splice(at, 1);
    await fn();
  };
}

async function cleanUp() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await withTimeout(Promise.resolve().then(fn), 5_000, 'clean-up');
    } catch (err) {
      console.error(`lost-updates: clean-up failed: ${err.message}`);
    }
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The handlers' shared parts

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The request's route and parameters: /new, /set?k=&v=&d=, /dump. */
function parse(url) {
  const u = new URL(url, `http://${HOST}`);
  const k = u.searchParams.get('k') ?? '';
  const d = Math.min(Math.max(Number(u.searchParams.get('d')) || 0, 0), 100);
  return { path: u.pathname, k: NAMES.test(k) ? k : null, v: u.searchParams.get('v'), d };
}

/** The scenario's keys present in a session, read through `get(key)`. */
async function dump(get) {
  const out = {};
  for (const key of KEYS) {
    const value = await get(key);
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body);
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(server.address().port));
  });
}

/** Stops accepting connections; resolves once the open ones are closed. */
function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections?.();
  });
}

/**
 * A node:http server around `handler`, 500 on a thrown error; resolves to { port, stop }. `stop`
 * lets the handlers still running finish (up to 3 s) before the store behind them is closed.
 */
async function httpServer(handler) {
  const running = new Set();
  const server = http.createServer((req, res) => {
    const done = (async () => {
      try {
        await handler(req, res);
      } catch (err) {
        console.error(`lost-updates: handler failed: ${err?.message ?? err}`);
        if (!res.headersSent) send(res, 500, 'error');
        else res.end();
      }
    })();
    running.add(done);
    done.finally(() => running.delete(done));
  });
  const port = await listen(server);
  const stop = async () => {
    const closed = closeServer(server);
    await withTimeout(Promise.allSettled([...running]), 3_000, 'handlers').catch(() => {});
    server.closeAllConnections?.();
    await closed;
  };
  return { port, stop };
}

/** The routes on an Express app whose `req.session` is a plain object (express-/cookie-session). */
function expressRoutes(app) {
  app.get('/new', (req, res) => {
    req.session.init = 1;
    res.type('text/plain').send('ok');
  });
  app.get('/set', async (req, res) => {
    const { k, v, d } = parse(req.url);
    if (req.session.init !== 1) return void res.status(409).type('text/plain').send('no session');
    await sleep(d);
    if (k) req.session[k] = v;
    res.type('text/plain').send('ok');
  });
  app.get('/dump', async (req, res) => {
    res.json(await dump((key) => req.session?.[key]));
  });
}

/** An Express app on {@link httpServer}: a request counts as running until its response closes. */
function expressServer(app) {
  return httpServer(
    (req, res) =>
      new Promise((resolve) => {
        res.once('close', resolve);
        app(req, res);
      }),
  );
}

// ---------------------------------------------------------------------------------------------
// The libraries

const connectRedis = {
  async client() {
    const { createClient } = await import('redis');
    const client = createClient({
      url: REDIS_URL,
      socket: { connectTimeout: 2_000, reconnectStrategy: false },
    });
    client.on('error', (err) => console.error(`lost-updates: redis client error: ${err.message}`));
    await client.connect();
    return client;
  },
};

async function expressSession(storeFactory) {
  const { default: express } = await import('express');
  const { default: session } = await import('express-session');
  const extra = storeFactory ? await storeFactory() : { store: undefined, close: async () => {} };
  const app = express();
  app.use(
    session({
      secret: SECRET,
      store: extra.store,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: MAX_AGE_S * 1000 },
    }),
  );
  expressRoutes(app);
  const server = await expressServer(app);
  return {
    port: server.port,
    stop: async () => {
      await server.stop();
      await extra.close();
    },
  };
}

async function fastifySession() {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyCookie } = await import('@fastify/cookie');
  const { default: fastifySessionPlugin } = await import('@fastify/session');
  const app = Fastify({ logger: false });
  await app.register(fastifyCookie);
  await app.register(fastifySessionPlugin, {
    secret: SECRET,
    saveUninitialized: false,
    rolling: false,
    cookie: { maxAge: MAX_AGE_S * 1000, secure: false },
  });
  app.get('/new', async (req) => {
    req.session.set('init', 1);
    return 'ok';
  });
  app.get('/set', async (req, reply) => {
    const { k, v, d } = parse(req.url);
    if (req.session.get('init') !== 1) {
      reply.code(409);
      return 'no session';
    }
    await sleep(d);
    if (k) req.session.set(k, v);
    return 'ok';
  });
  app.get('/dump', async (req) => dump((key) => req.session.get(key)));
  await app.listen({ port: 0, host: HOST });
  return { port: app.server.address().port, stop: () => app.close() };
}

async function cookieSession() {
  const { default: express } = await import('express');
  const { default: cookieSessionMiddleware } = await import('cookie-session');
  const app = express();
  app.use(cookieSessionMiddleware({ name: 'session', keys: [SECRET], maxAge: MAX_AGE_S * 1000 }));
  expressRoutes(app);
  return expressServer(app);
}

async function ironSession() {
  const { getIronSession } = await import('iron-session');
  const options = {
    cookieName: 'iron',
    password: SECRET,
    ttl: MAX_AGE_S,
    cookieOptions: { secure: false },
  };
  return httpServer(async (req, res) => {
    const { path, k, v, d } = parse(req.url);
    const session = await getIronSession(req, res, options);
    if (path === '/new') {
      session.init = 1;
      await session.save();
      return send(res, 200, 'ok');
    }
    if (path === '/set') {
      if (session.init !== 1) return send(res, 409, 'no session');
      await sleep(d);
      if (k) session[k] = v;
      await session.save();
      return send(res, 200, 'ok');
    }
    if (path === '/dump') return send(res, 200, JSON.stringify(await dump((key) => session[key])));
    return send(res, 404, 'not found');
  });
}

let keepstateModules;
async function ks() {
  if (!keepstateModules) {
    try {
      const base = await import('./servers/_keepstate.mjs'); // honours KEEPSTATE_DIST
      keepstateModules = {
        keepstate: base.keepstate,
        manager: base.manager,
        core: await base.keepstate(),
        node: await base.keepstate('adapters/node-http.js'),
      };
    } catch (err) {
      throw new Error(`keepstate's build is missing or broken (run npm run build): ${err.message}`);
    }
  }
  return keepstateModules;
}

/** keepstate's node:http adapter on `store`; `close` undoes what the store needed. */
async function keepstateServer(store, close = async () => {}) {
  const { manager, node } = await ks();
  const app = node.withSession(manager(store), async (req, res, session) => {
    const { path, k, v, d } = parse(req.url);
    if (path === '/new') {
      await session.set('init', 1);
      return send(res, 200, 'ok');
    }
    if (path === '/set') {
      if ((await session.get('init')) !== 1) return send(res, 409, 'no session');
      await sleep(d);
      if (k) await session.set(k, v);
      return send(res, 200, 'ok');
    }
    if (path === '/dump')
      return send(res, 200, JSON.stringify(await dump((key) => session.get(key))));
    return send(res, 404, 'not found');
  });
  const server = await httpServer(app);
  const write =
    typeof store.update === 'function'
      ? 'store.update() merge'
      : 'store.save() of the whole session (no update())';
  return {
    port: server.port,
    write,
    stop: async () => {
      await server.stop();
      await close();
    },
  };
}

async function ioredisClient() {
  const { Redis } = await import('ioredis');
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  client.on('error', () => {}); // connect() rejects with it; later errors fail the commands
  await client.connect();
  return client;
}

// ---------------------------------------------------------------------------------------------
// Django: a child process per engine

/** Runs `python args`, killed after `ms`; resolves to { code, stdout, stderr }. */
function runQuick(python, args, ms) {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: pythonEnv() });
    } catch (err) {
      return resolve({ code: null, stdout: '', stderr: err.message });
    }
    const out = [];
    const err = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: '', stderr: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}

function pythonEnv(extra = {}) {
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...extra };
  delete env.PYTHONPATH;
  return env;
}

let djangoPython;
/** The first interpreter of DJANGO_PYTHONS that imports Django: { python, version } or { reason }. */
function findDjangoPython() {
  djangoPython ??= (async () => {
    const problems = [];
    for (const python of DJANGO_PYTHONS) {
      if (!existsSync(python)) {
        problems.push(`${python} is missing`);
        continue;
      }
      const r = await runQuick(python, ['-c', 'import django; print(django.get_version())'], 5_000);
      if (r.code === 0) return { python, version: r.stdout.trim() };
      const why = r.stderr.trim().split('\n').at(-1) || `exit ${r.code}`;
      problems.push(`${python}: ${why}`);
    }
    return { reason: `no Python with Django (${problems.join('; ')})` };
  })();
  return djangoPython;
}

/**
 * servers/django_lost_updates.py with `engine` ('db' or 'signed_cookies'), in a temp folder of
 * its own; resolves to { port, django, python, stop } once it listens. The child is killed on
 * stop, on clean-up (Ctrl-C, the global timeout) and when this process exits; it also exits
 * by itself when its stdin (held by this process) closes.
 */
async function djangoServer(engine) {
  const found = await findDjangoPython();
  if (!found.python) throw new Error(found.reason);
  const dir = mkdtempSync(join(tmpdir(), 'keepstate-lost-updates-django-'));
  const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(found.python, [DJANGO_SERVER, engine, dir], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: pythonEnv({ LOST_UPDATES_SECRET: SECRET, LOST_UPDATES_MAX_AGE: String(MAX_AGE_S) }),
  });
  const exited = new Promise((resolve) => {
    child.once('close', resolve);
    child.once('error', resolve);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const kill = onCleanup(async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const gone = await withTimeout(exited, 2_000, 'django exit').then(
        () => true,
        () => false,
      );
      if (!gone) child.kill('SIGKILL');
      await exited;
    }
    child.stdin.destroy();
  });
  const stop = async () => {
    await kill();
    await removeDir();
  };
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4_000);
  });
  try {
    const hello = await withTimeout(
      new Promise((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (d) => {
          out += d;
          const nl = out.indexOf('\n');
          if (nl < 0) return;
          try {
            resolve(JSON.parse(out.slice(0, nl)));
          } catch {
            reject(new Error(`${found.python} said ${JSON.stringify(out.slice(0, 200))}`));
          }
        });
        child.once('error', reject);
        child.once('close', (code, signal) => {
          const tail = stderr.trim().split('\n').slice(-3).join(' / ');
          reject(
            new Error(
              `${found.python} exited (${signal ?? code}) before listening${tail ? `: ${tail}` : ''}`,
            ),
          );
        });
      }),
      DJANGO_START_MS,
      `starting Django (${found.python})`,
    );
    if (hello.error) throw new Error(hello.error);
    return { port: hello.port, django: hello.django, python: hello.python, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A LIBRARIES entry for Django's `engine`, named after the Django version the child reports. */
function djangoLibrary(id, engine, label, write) {
  return {
    id,
    name: `Django 5.2, ${label}`,
    pkgs: [],
    write,
    start: async () => {
      const server = await djangoServer(engine);
      return {
        ...server,
        name: `Django ${server.django.split('.').slice(0, 2).join('.')}, ${label}`,
        versions: { django: server.django, python: server.python },
      };
    },
  };
}

const LIBRARIES = [
  {
    id: 'express-session-memory',
    name: 'express-session, MemoryStore',
    pkgs: ['express', 'express-session'],
    write: 'store.set() of the whole session',
    start: () => expressSession(null),
  },
  {
    id: 'express-session-redis',
    name: 'express-session + connect-redis',
    pkgs: ['express', 'express-session', 'connect-redis', 'redis'],
    needs: 'redis',
    write: 'store.set() of the whole session',
    start: () =>
      expressSession(async () => {
        const { RedisStore } = await import('connect-redis');
        const client = await connectRedis.client();
        return {
          store: new RedisStore({ client, prefix: `${PREFIX}sess:` }),
          close: async () => {
            await deleteRedisKeys();
            await client.quit();
          },
        };
      }),
  },
  {
    id: 'fastify-session-memory',
    name: '@fastify/session, memory store',
    pkgs: ['fastify', '@fastify/session', '@fastify/cookie'],
    write: 'store.set() of the whole session',
    start: fastifySession,
  },
  {
    id: 'cookie-session',
    name: 'cookie-session (cookie)',
    pkgs: ['express', 'cookie-session'],
    write: 'the whole session in the cookie',
    start: cookieSession,
  },
  {
    id: 'iron-session',
    name: 'iron-session (cookie)',
    pkgs: ['iron-session'],
    write: 'the whole session in the cookie',
    start: ironSession,
  },
  {
    id: 'ks-memory',
    name: 'keepstate MemoryStore',
    pkgs: [],
    start: async () => {
      const { core } = await ks();
      return keepstateServer(new core.MemoryStore());
    },
  },
  {
    id: 'ks-sqlite',
    name: 'keepstate SqliteStore',
    pkgs: ['better-sqlite3'],
    start: async () => {
      const { keepstate } = await ks();
      const { SqliteStore } = await keepstate('stores/sql/sqlite-store.js');
      const { default: Database } = await import('better-sqlite3');
      const dir = mkdtempSync(join(tmpdir(), 'keepstate-lost-updates-'));
      const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
      const db = new Database(join(dir, 'sessions.sqlite3'));
      const store = new SqliteStore(db);
      await store.migrate();
      return keepstateServer(store, async () => {
        db.close();
        await removeDir();
      });
    },
  },
  {
    id: 'ks-redis',
    name: 'keepstate RedisStore',
    pkgs: ['ioredis'],
    needs: 'redis',
    start: async () => {
      const { keepstate } = await ks();
      const { RedisStore } = await keepstate('stores/redis-store.js');
      const client = await ioredisClient();
      return keepstateServer(new RedisStore(client, { prefix: `${PREFIX}ks` }), async () => {
        await deleteRedisKeys();
        await client.quit();
      });
    },
  },
  {
    id: 'ks-postgres',
    name: 'keepstate PostgresStore',
    pkgs: ['pg'],
    needs: 'postgres',
    start: async () => {
      const { keepstate } = await ks();
      const { PostgresStore } = await keepstate('stores/sql/postgres-store.js');
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({
        connectionString: POSTGRES_URL,
        max: 10,
        connectionTimeoutMillis: 2_000,
      });
      pool.on('error', (err) => console.error(`lost-updates: pg pool error: ${err.message}`));
      const drop = () => pool.query(`DROP TABLE IF EXISTS "${PG_TABLE}"`);
      const closePool = onCleanup(async () => {
        await drop();
        await pool.end();
      });
      await drop();
      const store = new PostgresStore(pool, { table: PG_TABLE });
      await store.migrate();
      return keepstateServer(store, closePool);
    },
  },
  {
    id: 'ks-signed-cookie',
    name: 'keepstate SignedCookieStore (cookie)',
    pkgs: [],
    start: async () => {
      const { core } = await ks();
      const server = await keepstateServer(new core.SignedCookieStore());
      return { ...server, write: 'the whole session in the cookie' };
    },
  },
  djangoLibrary(
    'django-db-sqlite',
    'db',
    'db engine (SQLite)',
    'SessionStore.save(): UPDATE of the whole session row',
  ),
  djangoLibrary(
    'django-signed-cookies',
    'signed_cookies',
    'signed_cookies engine (cookie)',
    'the whole session in the cookie',
  ),
];

// ---------------------------------------------------------------------------------------------
// Redis and PostgreSQL: probes and this run's own keys

let redisCleaner = null;

async function deleteRedisKeys() {
  if (!redisCleaner) return;
  let cursor = '0';
  do {
    const [next, keys] = await redisCleaner.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redisCleaner.del(...keys);
  } while (cursor !== '0');
}

async function probeRedis() {
  loopbackUrl(REDIS_URL, 'REDIS_URL');
  const client = await ioredisClient();
  await client.ping();
  redisCleaner = client;
  onCleanup(async () => {
    await deleteRedisKeys();
    await client.quit();
  });
}

async function probePostgres() {
  loopbackUrl(POSTGRES_URL, 'BENCH_POSTGRES_URL');
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// The client

/** One GET; the jar takes the response's Set-Cookie the moment its headers arrive. */
function get(port, path, jar) {
  return new Promise((resolve, reject) => {
    const cookie = jar.header();
    const req = http.request(
      { host: HOST, port, path, method: 'GET', headers: cookie ? { cookie } : {}, agent: false },
      (res) => {
        jar.apply(res.headers['set-cookie']);
        const arrived = performance.now();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, body, arrived }));
        res.on('error', reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** mulberry32: the same waits for every library in a given scenario and round. */
function waits(seed, n) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from(
    { length: n },
    () => DELAY_MIN_MS + Math.floor(next() * (DELAY_MAX_MS - DELAY_MIN_MS + 1)),
  );
}

function tally(statuses) {
  const out = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

/** A fresh session: a jar holding the cookie of GET /new. */
async function freshSession(port) {
  const jar = new CookieJar();
  const created = await get(port, '/new', jar);
  if (created.status !== 200 || jar.size === 0) {
    throw new Error(`GET /new answered ${created.status} with ${jar.size} cookie(s)`);
  }
  return jar;
}

async function readBack(port, jar) {
  const r = await get(port, '/dump', jar);
  let data = {};
  try {
    data = r.status === 200 ? JSON.parse(r.body) : {};
  } catch {
    data = {};
  }
  return { status: r.status, data, loaded: r.status === 200 && data.init === 1 };
}

async function ownKeysRound(port, round) {
  const jar = await freshSession(port);
  const delays = waits(1_000 + round, PARALLEL);
  const answers = await Promise.all(
    delays.map((d, i) => get(port, `/set?k=k${i}&v=1&d=${d}`, jar)),
  );
  const back = await readBack(port, jar);
  const survivors = Array.from({ length: PARALLEL }, (_, i) => `k${i}`).filter(
    (k) => back.data[k] !== undefined,
  ).length;
  return { survivors, loaded: back.loaded, statuses: tally(answers.map((a) => a.status)), delays };
}

/** The control: the same 20 writes one after the other; every library must keep all 20. */
async function sequentialRound(port) {
  const jar = await freshSession(port);
  const statuses = [];
  for (let i = 0; i < PARALLEL; i++)
    statuses.push((await get(port, `/set?k=k${i}&v=1&d=0`, jar)).status);
  const back = await readBack(port, jar);
  const survivors = Array.from({ length: PARALLEL }, (_, i) => `k${i}`).filter(
    (k) => back.data[k] !== undefined,
  ).length;
  return { survivors, loaded: back.loaded, statuses: tally(statuses) };
}

async function sameKeyRound(port, round) {
  const jar = await freshSession(port);
  const delays = waits(2_000 + round, 2);
  const values = ['a', 'b'];
  const answers = await Promise.all(
    values.map((v, i) => get(port, `/set?k=x&v=${v}&d=${delays[i]}`, jar)),
  );
  const back = await readBack(port, jar);
  const x = back.data.x;
  const outcome = !back.loaded
    ? 'session lost'
    : x === 'a' || x === 'b'
      ? x
      : `x=${JSON.stringify(x)}`;
  const lastResponse = answers[0].arrived > answers[1].arrived ? 'a' : 'b';
  return {
    outcome,
    loaded: back.loaded,
    lastResponse,
    statuses: tally(answers.map((a) => a.status)),
    delays,
  };
}

// ---------------------------------------------------------------------------------------------
// The run

function version(pkg) {
  for (const base of [join(BENCH, 'node_modules'), join(ROOT, 'node_modules')]) {
    try {
      return JSON.parse(readFileSync(join(base, pkg, 'package.json'), 'utf8')).version;
    } catch {}
  }
  return '?';
}

function summarize(result) {
  const own = result.ownKeys.map((r) => r.survivors);
  if (own.length > 0) {
    result.survivors = {
      min: Math.min(...own),
      avg: own.reduce((a, b) => a + b, 0) / own.length,
      max: Math.max(...own),
    };
  }
  result.sameKeyOutcomes = tally(result.sameKey.map((r) => r.outcome));
  const statuses = {};
  for (const r of [...result.ownKeys, ...result.sameKey]) {
    for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  }
  result.statuses = statuses;
  return result;
}

async function runLibrary(lib, options, services) {
  const result = {
    id: lib.id,
    name: lib.name,
    versions: Object.fromEntries(lib.pkgs.map((p) => [p, version(p)])),
    write: lib.write,
    ownKeys: [],
    sameKey: [],
  };
  if (lib.needs && services[lib.needs] !== true) {
    result.skipped = `${lib.needs} unavailable: ${services[lib.needs]}`;
    result.ms = 0;
    return summarize(result);
  }
  let stop;
  const started = performance.now();
  try {
    const server = await withTimeout(lib.start(), 10_000, `starting ${lib.id}`);
    stop = onCleanup(server.stop);
    if (server.write) result.write = server.write;
    if (server.name) result.name = server.name;
    if (server.versions) result.versions = server.versions;
    result.sequential = await sequentialRound(server.port);
    for (let round = 0; round < options.rounds; round++) {
      result.ownKeys.push(await ownKeysRound(server.port, round));
      result.sameKey.push(await sameKeyRound(server.port, round));
    }
  } catch (err) {
    result.error = err.message;
  } finally {
    if (stop)
      await stop().catch((err) =>
        console.error(`lost-updates: stopping ${lib.id}: ${err.message}`),
      );
  }
  result.ms = Math.round(performance.now() - started);
  return summarize(result);
}

function table(results, options) {
  const lines = [
    `| library / store | how a change is written | 20 own keys in parallel: survivors min / avg / max | same key \`x\` ('a' ∥ 'b'): outcome over ${options.rounds} rounds | answers to the parallel requests | control: the 20 keys one after another |`,
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    if (r.skipped || (r.error && r.ownKeys.length === 0)) {
      lines.push(`| ${r.name} | ${r.write ?? ''} | not run: ${r.skipped ?? r.error} | | | |`);
      continue;
    }
    const s = r.survivors;
    const lostRounds = r.ownKeys.filter((x) => !x.loaded).length;
    let own = s ? `${s.min} / ${s.avg.toFixed(1)} / ${s.max}` : '-';
    if (lostRounds > 0) own += ` (session lost in ${lostRounds})`;
    const loads = r.sameKey.filter((x) => x.loaded).length;
    const outcomes = Object.entries(r.sameKeyOutcomes)
      .sort()
      .map(([k, n]) => `${k.length === 1 ? `'${k}'` : k} ×${n}`)
      .join(', ');
    const lastWins = r.sameKey.filter((x) => x.outcome === x.lastResponse).length;
    const same = `${outcomes}; loads ${loads}/${r.sameKey.length}; = last response ${lastWins}/${r.sameKey.length}`;
    const answers = Object.entries(r.statuses)
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ');
    const partial = r.error ? ` (stopped after ${r.ownKeys.length} rounds: ${r.error})` : '';
    const control = r.sequential
      ? `${r.sequential.survivors}/${PARALLEL}${r.sequential.loaded ? '' : ' (session lost)'}`
      : '-';
    lines.push(`| ${r.name} | ${r.write} | ${own}${partial} | ${same} | ${answers} | ${control} |`);
  }
  return lines.join('\n');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const lib of LIBRARIES) console.log(`${lib.id.padEnd(24)} ${lib.name}`);
    return;
  }
  const libs = options.only
    ? LIBRARIES.filter((lib) => options.only.some((o) => lib.id.includes(o)))
    : LIBRARIES;
  if (libs.length === 0) throw new Error('--only matched no library (see --list)');

  const results = [];
  let finished = false;
  const report = () => {
    console.log(table(results, options));
    if (options.json) {
      mkdirSync(dirname(options.json), { recursive: true });
      const raw = {
        date: new Date().toISOString(),
        node: process.version,
        keepstate: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
        rounds: options.rounds,
        parallel: PARALLEL,
        delayMs: [DELAY_MIN_MS, DELAY_MAX_MS],
        complete: finished,
        results,
      };
      writeFileSync(options.json, `${JSON.stringify(raw, null, 2)}\n`);
      console.error(`lost-updates: raw numbers in ${options.json}`);
    }
  };

  let aborting = false;
  let current = null;
  const abort = async (message, code) => {
    if (aborting) return;
    aborting = true;
    const during = current ? ` during ${current} (not in the table)` : '';
    console.error(`lost-updates: ${message}${during}; cleaning up`);
    await cleanUp();
    if (results.length > 0) report();
    process.exit(code);
  };
  const deadline = setTimeout(
    () => abort(`the global timeout of ${options.timeout} s was reached`, 2),
    options.timeout * 1000,
  );
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));

  const services = {};
  if (libs.some((l) => l.needs === 'redis')) {
    services.redis = await probeRedis().then(
      () => true,
      (err) => `${REDIS_URL}: ${err.message}`,
    );
  }
  if (libs.some((l) => l.needs === 'postgres')) {
    services.postgres = await probePostgres().then(
      () => true,
      (err) => `${POSTGRES_URL}: ${err.message}`,
    );
  }

  console.error(
    `lost-updates: ${options.rounds} rounds; ${PARALLEL} parallel requests on one session, each waits ${DELAY_MIN_MS}-${DELAY_MAX_MS} ms between read and write`,
  );
  for (const lib of libs) {
    if (aborting) return;
    current = lib.id;
    const r = await runLibrary(lib, options, services);
    if (aborting) return;
    results.push(r);
    const note =
      r.skipped ?? r.error ?? `${r.survivors.avg.toFixed(1)}/${PARALLEL} kept on average`;
    console.error(`  ${lib.id}: ${note} (${r.ms} ms)`);
  }
  current = null;
  finished = true;
  clearTimeout(deadline);
  await cleanUp();
  console.log(
    `\nnode ${process.version}; ${options.rounds} rounds per scenario, a fresh session each; ${PARALLEL} parallel requests; each handler waits ${DELAY_MIN_MS}-${DELAY_MAX_MS} ms (seeded, the same for every library) between reading and writing the session.\n`,
  );
  report();
}

main().catch(async (err) => {
  console.error(`lost-updates: ${err.stack ?? err.message}`);
  await cleanUp();
  process.exit(1);
});
