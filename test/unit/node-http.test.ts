import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { withSession } from '../../src/adapters/node-http.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { rawGet, startServer, type TestServer } from '../support/http-server.js';
import { prng } from '../support/prng.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

describe('keepstate/node on a real server', () => {
  const store = new MemoryStore();
  const warnings: string[] = [];
  const manager = new SessionManager({
    store,
    secret: SECRET,
    logger: { warn: (m, details) => warnings.push(`${m} ${JSON.stringify(details ?? {})}`) },
  });
  let server: TestServer;
  let logout: (() => void) | null = null;

  before(async () => {
    server = await startServer(
      withSession(manager, async (req, res, session) => {
        const url = new URL(req.url ?? '/', 'http://x');
        switch (url.pathname) {
          case '/login':
            await session.set('name', url.searchParams.get('name') ?? 'anon');
            await session.cycleKey();
            res.writeHead(302, { Location: '/', 'Set-Cookie': 'other=1; Path=/', Vary: 'Accept' });
            res.end();
            return;
          case '/whoami':
            res.end(String(await session.get('name', 'guest')));
            return;
          case '/logout':
            await session.flush();
            res.end('bye');
            return;
          case '/stream':
            await session.set('streamed', true);
            res.write('a');
            res.write('b');
            res.end('c');
            return;
          case '/fail':
            await session.set('never', true);
            throw new Error('handler failed on purpose');
          case '/error-status':
            await session.set('never', true);
            res.statusCode = 503;
            res.end('down');
            return;
          case '/slow':
            await session.set('late', true);
            await new Promise<void>((resolve) => {
              logout = resolve;
            });
            res.end('slow');
            return;
          default:
            res.end('untouched');
        }
      }),
    );
  });
  after(() => server.close());

  const cookieOf = (res: Response) =>
    res.headers.getSetCookie().find((c) => c.startsWith('sessionid='));

  test('a request that never touches the session: no cookie, no Vary', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(await res.text(), 'untouched');
    assert.equal(cookieOf(res), undefined);
    assert.equal(res.headers.get('vary'), null);
  });

  test('log in, read back, log out', async () => {
    const login = await fetch(`${server.url}/login?name=Zo%C3%AB`, { redirect: 'manual' });
    assert.equal(login.status, 302);
    const cookie = cookieOf(login);
    assert.ok(cookie, 'the session cookie is set before the redirect leaves');
    assert.ok(
      login.headers.getSetCookie().includes('other=1; Path=/'),
      "the handler's own cookie is kept",
    );
    assert.equal(login.headers.get('vary'), 'Accept, Cookie');
    const pair = cookie.split(';')[0] ?? '';

    const whoami = await fetch(`${server.url}/whoami`, { headers: { cookie: pair } });
    assert.equal(await whoami.text(), 'Zoë');
    assert.equal(whoami.headers.get('vary'), 'Cookie');
    assert.equal(cookieOf(whoami), undefined);

    const out = await fetch(`${server.url}/logout`, { headers: { cookie: pair } });
    assert.match(cookieOf(out) ?? '', /^sessionid="";.*Max-Age=0/);
    const after = await fetch(`${server.url}/whoami`, { headers: { cookie: pair } });
    assert.equal(await after.text(), 'guest');
  });

  test('a streamed response carries the cookie and the whole body', async () => {
    const res = await fetch(`${server.url}/stream`);
    assert.equal(await res.text(), 'abc');
    assert.ok(cookieOf(res));
  });

  test('a handler that throws answers 500 and saves nothing', async (t) => {
    t.mock.method(console, 'error', () => {});
    const size = store.size;
    const res = await fetch(`${server.url}/fail`);
    assert.equal(res.status, 500);
    assert.equal(cookieOf(res), undefined);
    assert.equal(store.size, size);
  });

  test('a 5xx status saves nothing and sets no cookie', async () => {
    const size = store.size;
    const res = await fetch(`${server.url}/error-status`);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'down');
    assert.equal(cookieOf(res), undefined);
    assert.equal(store.size, size);
  });

  test('a slow request cannot resurrect a session a parallel logout deleted: 400, no cookie', async () => {
    const login = await fetch(`${server.url}/login?name=eve`, { redirect: 'manual' });
    const pair = (cookieOf(login) ?? '').split(';')[0] ?? '';
    const size = store.size;
    const slow = fetch(`${server.url}/slow`, { headers: { cookie: pair } });
    while (logout === null) await new Promise((resolve) => setImmediate(resolve));
    await fetch(`${server.url}/logout`, { headers: { cookie: pair } });
    (logout as () => void)();
    const res = await slow;
    assert.equal(res.status, 400);
    assert.equal(cookieOf(res), undefined);
    assert.equal(store.size, size - 1);
  });

  test('1,000+ random and malformed Cookie headers: never a 5xx, never a store write, never logged', async (t) => {
    const logged: string[] = [];
    for (const method of ['error', 'warn', 'info', 'log'] as const) {
      t.mock.method(console, method, (...args: unknown[]) => logged.push(inspect(args)));
    }
    const sent: string[] = [];
    const random = prng(20_261_123);
    const size = store.size;
    const warned = warnings.length;
    const pick = (s: string) => s[Math.floor(random() * s.length)] ?? '';
    const alphabet = ';=" %\\,\t abcdefghijklmnopqrstuvwxyz0123456789:._-';
    const names = [
      'sessionid',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      '',
      ' sessionid',
      '__Host-sessionid',
    ];
    for (let i = 0; i < 1_200; i++) {
      const bytes: number[] = [];
      const length = Math.floor(random() * (i % 50 === 0 ? 8_000 : 300));
      const name = names[Math.floor(random() * names.length)] ?? '';
      for (const c of Buffer.from(`${name}=`, 'latin1')) bytes.push(c);
      for (let j = 0; j < length; j++) {
        const r = random();
        // Bytes 0x80-0xFF make invalid UTF-8; CR and LF would end the header, so never those.
        if (r < 0.1) bytes.push(0x80 + Math.floor(random() * 0x80));
        else bytes.push(pick(alphabet).charCodeAt(0));
      }
      if (i % 100 === 0) {
        // Thousands of pairs in one header, prototype names among them.
        for (let pair = 0; pair < 3_000; pair++) {
          const pairName = names[pair % names.length] || `c${pair}`;
          for (const c of Buffer.from(`; ${pairName}=${pair}`, 'latin1')) bytes.push(c);
        }
      }
      const header = Buffer.from(bytes);
      for (const chunk of header.toString('latin1').split(';')) {
        const value = chunk.slice(chunk.indexOf('=') + 1).trim();
        if (value.length >= 8) sent.push(value);
      }
      const path = i % 3 === 0 ? '/whoami' : '/';
      const res = await rawGet(server.port, path, header);
      assert.ok(res.status < 500 && res.status > 0, `request ${i} answered ${res.status}`);
    }
    assert.equal(store.size, size, 'no record was created for any bogus cookie');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const text = [...warnings.slice(warned), ...logged].join('\n');
    assert.ok(warnings.length > warned, 'refused cookies were reported');
    for (const value of sent) assert.ok(!text.includes(value), 'a cookie value reached a log');
  });
});
