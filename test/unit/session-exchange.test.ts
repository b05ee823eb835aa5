import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheControlWithPrivate, failureOf } from '../../src/adapters/session-exchange.js';
import { SessionInterrupted, StoreError } from '../../src/core/errors.js';

test("cacheControlWithPrivate merges as Django's patch_cache_control(response, private=True)", () => {
  const cases: [unknown, string][] = [
    [undefined, 'private'],
    [null, 'private'],
    ['', 'private'],
    ['max-age=60', 'max-age=60, private'],
    ['Public, max-age=60', 'max-age=60, private'],
    ['public', 'private'],
    ['private', 'private'],
    ['private="set-cookie", max-age=0', 'private, max-age=0'],
    ['No-Cache, no-cache="Set-Cookie", must-revalidate', 'no-cache, must-revalidate, private'],
    ['no-cache="set-cookie", no-cache="x"', 'no-cache="set-cookie", no-cache="x", private'],
    ['no-store,max-age=0', 'no-store, max-age=0, private'],
    [['max-age=5', 'public'], 'max-age=5, private'],
  ];
  for (const [current, expected] of cases) {
    assert.equal(cacheControlWithPrivate(current), expected, JSON.stringify(current));
  }
});

test('failureOf: 400 for SessionInterrupted, 503 for StoreError, 500 otherwise; never the message', () => {
  assert.deepEqual(failureOf(new SessionInterrupted()), {
    status: 400,
    body: 'Session interrupted',
  });
  assert.deepEqual(failureOf(new StoreError('redis://secret-host down')), {
    status: 503,
    body: 'Service Unavailable',
  });
  assert.deepEqual(failureOf(new Error('boom')), { status: 500, body: 'Internal Server Error' });
});
