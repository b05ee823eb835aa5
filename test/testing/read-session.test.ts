import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { deleteCookie } from '../../src/cookies/delete-cookie.js';
import { serializeCookie } from '../../src/cookies/serialize-cookie.js';
import { generateSessionKey } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { EncryptedCookieStore } from '../../src/stores/encrypted-cookie-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { SignedCookieStore } from '../../src/stores/signed-cookie-store.js';
import { readSession } from '../../src/testing/read-session.js';
import { TEST_SECRET } from '../support/attach.js';
import { testClock } from '../support/test-clock.js';

function setup(store: SessionStore = new MemoryStore(), cookieName = 'sessionid') {
  const clock = testClock();
  const warnings: string[] = [];
  const manager = new SessionManager<{ name: string }>({
    store,
    secret: TEST_SECRET,
    clock,
    cookieName,
    logger: { warn: (message) => warnings.push(message) },
  });
  /** What a response of a request that set `name` would carry. */
  const respond = async (name: string) => {
    const session = manager.open(null);
    await session.set('name', name);
    const { setCookie } = await manager.commit(session, 200);
    assert.ok(setCookie);
    return setCookie;
  };
  return { manager, clock, respond, warnings };
}

describe('readSession', () => {
  test('takes a Set-Cookie value, a list, Headers, a Response, a header record, or anything with headers', async () => {
    const { manager, respond } = setup();
    const setCookie = await respond('ann');
    const other = 'theme=dark; Path=/';
    const headers = new Headers([
      ['set-cookie', other],
      ['set-cookie', setCookie],
    ]);
    const node: OutgoingHttpHeaders = { 'Set-Cookie': [other, setCookie], 'content-length': 2 };
    const sources = [
      setCookie,
      [other, setCookie],
      headers,
      new Response('ok', { headers }),
      node,
      { 'set-cookie': setCookie },
      { statusCode: 200, headers: node },
    ];
    for (const source of sources) {
      assert.deepEqual(await readSession(manager, source), { name: 'ann' });
    }
  });

  test('the last session cookie wins, as in a browser', async () => {
    const { manager, respond } = setup();
    const first = await respond('ann');
    const second = await respond('bob');
    assert.deepEqual(await readSession(manager, [first, second]), { name: 'bob' });
    assert.equal(await readSession(manager, [first, deleteCookie('sessionid')]), null);
  });

  test('null when no session cookie was set, or it was deleted or already expired', async () => {
    const { manager, respond, clock } = setup();
    const key = (await respond('ann')).split(';')[0]?.split('=')[1] ?? '';
    assert.equal(await readSession(manager, []), null);
    assert.equal(await readSession(manager, new Response('ok')), null);
    assert.equal(await readSession(manager, { 'content-type': 'text/plain' }), null);
    assert.equal(await readSession(manager, 'othersession=abc; Path=/'), null);
    assert.equal(await readSession(manager, deleteCookie('sessionid')), null);
    const now = { clock };
    assert.equal(
      await readSession(manager, serializeCookie('sessionid', key, { ...now, maxAge: 0 })),
      null,
    );
    assert.equal(
      await readSession(manager, serializeCookie('sessionid', key, { ...now, maxAge: -1 })),
      null,
    );
    assert.equal(
      await readSession(manager, `sessionid=${key}; expires=Thu, 01 Jan 1970 00:00:00 GMT`),
      null,
    );
    assert.deepEqual(
      await readSession(
        manager,
        `sessionid=${key}; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60`,
      ),
      { name: 'ann' },
      'Max-Age wins over Expires',
    );
    assert.deepEqual(await readSession(manager, `sessionid=${key}`), { name: 'ann' });
  });

  test('null when the cookie points at no live session', async () => {
    const { manager, respond, clock } = setup();
    assert.equal(await readSession(manager, `sessionid=${generateSessionKey()}; Path=/`), null);
    const setCookie = await respond('ann');
    clock.advance(manager.options.cookieAge);
    assert.equal(await readSession(manager, setCookie.replace(/Max-Age=\d+/, 'Max-Age=1')), null);
  });

  test('a session saved empty reads as {}, not null', async () => {
    const { manager, respond } = setup();
    const setCookie = await respond('ann');
    const session = manager.open({ sessionid: setCookie.split(';')[0]?.split('=')[1] ?? '' });
    await session.clear();
    const cleared = await manager.commit(session, 200);
    assert.deepEqual(await readSession(manager, cleared.setCookie ?? ''), {});
  });

  test("reads cookie stores' values, with the manager's cookie name", async () => {
    for (const store of [new SignedCookieStore(), new EncryptedCookieStore()]) {
      const { manager, respond } = setup(store, 'appsession');
      assert.deepEqual(await readSession(manager, await respond('ann')), { name: 'ann' });
    }
  });
});
