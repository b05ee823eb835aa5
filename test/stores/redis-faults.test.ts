import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, type TestContext, test } from 'node:test';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { withSession } from '../../src/adapters/node-http.js';
import { login } from '../../src/core/login.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionRecord } from '../../src/core/session-store.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { TEST_SECRET } from '../support/attach.js';
import { startServer, type TestServer } from '../support/http-server.js';
import { type OwnedRedis, redisTools, startRedis } from '../support/redis-server.js';
import { needService } from '../support/services.js';

/**
 * Store faults against a real Redis that this test starts, kills and starts again: refused,
 * killed in the middle of loads, frozen (accepts connections, never answers), slow, and back.
 * The ioredis client keeps its defaults, which queue commands for a long time while it
 * reconnects: the manager's storeTimeout alone must bound every request.
 */

const skip = await needService(
  'redis-server and redis-cli',
  redisTools,
  'install them (apt-get install -y redis-server redis-tools)',
);

/** Seconds. */
const STORE_TIMEOUT = 1;
const USERS = 12;

/** Counts the loads it was asked for, to know when requests are in flight. */
class CountingRedisStore extends RedisStore {
  loads = 0;
  override async load(sessionKey: string): Promise<SessionRecord | null> {
    this.loads++;
    return super.load(sessionKey);
  }
}

/** Everything keepstate logged or answered, to check that no session key is in any of it. */
const transcript: string[] = [];

function app(manager: SessionManager): Promise<TestServer> {
  return startServer(
    withSession(manager, async (req, res, session) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/login') {
        const user = url.searchParams.get('user') ?? '';
        await login(session, { id: user });
        await session.set('name', `user-${user}`);
        res.end('welcome');
        return;
      }
      res.end(String(await session.get('name', 'guest')));
    }),
  );
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly setCookie: string[];
}

/**
 * One request, which must be answered within storeTimeout + 1 s: a request that is not fails
 * with a TimeoutError, so the bound is an outcome of each request, not a measured duration.
 */
async function ask(server: TestServer, path: string, cookie?: string): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    headers: cookie === undefined ? {} : { cookie },
    signal: AbortSignal.timeout((STORE_TIMEOUT + 1) * 1000),
  });
  const answer = {
    status: res.status,
    body: await res.text(),
    setCookie: res.headers.getSetCookie(),
  };
  // Set-Cookie is where a session key belongs; the body is not.
  transcript.push(answer.body);
  return answer;
}

function capture(t: TestContext): void {
  for (const method of ['error', 'warn', 'info', 'log'] as const) {
    t.mock.method(console, method, (...args: unknown[]) => {
      transcript.push(args.map((arg) => inspect(arg, { depth: 8 })).join(' '));
    });
  }
}

describe('a real Redis that fails and comes back', { skip }, () => {
  let redis: OwnedRedis;
  let client: Redis;
  let store: CountingRedisStore;
  let closed: TestServer;
  let open: TestServer;
  const cookies: string[] = [];
  const keys: string[] = [];
  let unhandled = 0;
  const onUnhandled = () => {
    unhandled++;
  };

  const manager = (failOpen: boolean) =>
    new SessionManager({
      store,
      secret: TEST_SECRET,
      storeTimeout: STORE_TIMEOUT,
      failOpen,
      logger: {
        warn: (message, details) => transcript.push(`${message} ${JSON.stringify(details)}`),
      },
    });

  /** Every user asks who they are; each answer is theirs, anonymous, or a 503, never another's. */
  async function everyone(server: TestServer): Promise<Answer[]> {
    const answers = await Promise.all(cookies.map((cookie) => ask(server, '/whoami', cookie)));
    answers.forEach((answer, user) => {
      assert.ok(
        [`user-${user}`, 'guest', 'Service Unavailable'].includes(answer.body),
        `user ${user} got ${JSON.stringify(answer.body)}`,
      );
    });
    return answers;
  }

  /** Asks until the store answers again; recovery must take only a few requests. */
  async function recovered(): Promise<void> {
    for (let attempt = 0; attempt < 15; attempt++) {
      if ((await ask(closed, '/whoami', cookies[0])).status === 200) return;
    }
    assert.fail('the store did not come back within 15 requests');
  }

  async function intact(): Promise<void> {
    const answers = await everyone(closed);
    assert.deepEqual(
      answers.map((answer) => answer.body),
      cookies.map((_, user) => `user-${user}`),
      'every session written before the fault is there',
    );
  }

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await startRedis();
    client = new Redis(redis.url);
    client.on('error', () => {});
    store = new CountingRedisStore(client, { prefix: 'faults' });
    closed = await app(manager(false));
    open = await app(manager(true));
    for (let user = 0; user < USERS; user++) {
      const answer = await ask(closed, `/login?user=${user}`);
      assert.equal(answer.status, 200);
      const pair = answer.setCookie[0]?.split(';')[0] ?? '';
      assert.match(pair, /^sessionid=[a-z0-9]{32}$/);
      cookies.push(pair);
      keys.push(pair.slice('sessionid='.length));
    }
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await closed?.close();
    await open?.close();
    client?.disconnect();
    await redis?.stop();
  });

  test('refused (killed): 503 in time, fail open serves anonymous; back on its own, nothing lost', async (t) => {
    capture(t);
    await redis.kill();
    for (const answer of await everyone(closed)) {
      assert.equal(answer.status, 503);
      assert.deepEqual(answer.setCookie, [], 'the cookie is neither set nor deleted');
    }
    for (const answer of await everyone(open)) {
      assert.equal(answer.status, 200);
      assert.equal(answer.body, 'guest');
      assert.deepEqual(answer.setCookie, [], 'fail open keeps the cookie too');
    }
    await redis.restart();
    await recovered();
    await intact();
  });

  test('killed in the middle of loads: every request in flight gets its 503', async (t) => {
    capture(t);
    redis.freeze();
    const before = store.loads;
    const inFlight = everyone(closed);
    // Every request has sent its GET to the frozen server before it dies.
    for (let spin = 0; store.loads < before + USERS; spin++) {
      assert.ok(spin < 1_000_000, 'the loads never started');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await redis.kill();
    for (const answer of await inFlight) assert.equal(answer.status, 503);
    await redis.restart();
    await recovered();
    await intact();
  });

  test('frozen (accepts, never answers): 503 in time, then back when it thaws', async (t) => {
    capture(t);
    redis.freeze();
    try {
      for (const answer of await everyone(closed)) assert.equal(answer.status, 503);
      for (const answer of await everyone(open)) assert.equal(answer.body, 'guest');
    } finally {
      redis.thaw();
    }
    await recovered();
    await intact();
  });

  test('slow (paused shorter than storeTimeout): answered, and right', async (t) => {
    capture(t);
    // CLIENT PAUSE holds every client's commands on the server for 200 ms.
    await redis.command('CLIENT', 'PAUSE', '200', 'ALL');
    await intact();
  });

  test('slow (paused longer than storeTimeout): 503 in time, then back by itself', async (t) => {
    capture(t);
    await redis.command('CLIENT', 'PAUSE', String((STORE_TIMEOUT + 1) * 1000), 'ALL');
    for (const answer of await everyone(closed)) assert.equal(answer.status, 503);
    await recovered();
    await intact();
  });

  test('the process stayed up, and no session key is in any log line, error or answer', () => {
    assert.equal(unhandled, 0, 'no unhandled rejection');
    assert.ok(transcript.length > 0);
    const text = transcript.join('\n');
    assert.match(text, /StoreError/, 'the failures were logged');
    for (const key of keys) assert.ok(!text.includes(key), 'a session key leaked');
  });
});

describe('a server that accepts connections and never answers (a fault real Redis cannot make)', () => {
  let hung: Server;
  const sockets: Socket[] = [];
  let client: Redis;
  let server: TestServer;

  before(async () => {
    hung = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const address = hung.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    client = new Redis({ host: '127.0.0.1', port });
    client.on('error', () => {});
    const manager = new SessionManager({
      store: new RedisStore(client),
      secret: TEST_SECRET,
      storeTimeout: STORE_TIMEOUT,
      logger: { warn() {} },
    });
    server = await app(manager);
  });

  after(async () => {
    await server.close();
    client.disconnect();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hung.close(resolve));
  });

  test('every request is a 503 within storeTimeout + 1 s, and logging in too', async (t) => {
    capture(t);
    const answers = await Promise.all([
      ask(server, '/whoami', `sessionid=${'a'.repeat(32)}`),
      ask(server, '/whoami', `sessionid=${'b'.repeat(32)}`),
      ask(server, '/login?user=1'),
    ]);
    for (const answer of answers) {
      assert.equal(answer.status, 503);
      assert.deepEqual(answer.setCookie, []);
    }
    const text = transcript.join('\n');
    assert.ok(!text.includes('a'.repeat(32)) && !text.includes('b'.repeat(32)));
  });
});
