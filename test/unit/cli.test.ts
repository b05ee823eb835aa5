import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';

async function run(...argv: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  const code = await main(argv, out, err);
  out.end();
  err.end();
  return { code, out: out.read()?.toString() ?? '', err: err.read()?.toString() ?? '' };
}

describe('keepstate CLI', () => {
  test('--help prints the usage and exits 0', async () => {
    const { code, out } = await run('--help');
    assert.equal(code, 0);
    assert.match(out, /clearsessions/);
  });

  test('no command or an unknown one exits 2 with the usage', async () => {
    assert.equal((await run()).code, 2);
    const unknown = await run('frobnicate', '--store', 'memory:');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command "frobnicate"/);
  });

  test('clearsessions needs a store', async () => {
    const saved = process.env.KEEPSTATE_STORE;
    delete process.env.KEEPSTATE_STORE;
    try {
      const { code, err } = await run('clearsessions');
      assert.equal(code, 2);
      assert.match(err, /--store URL or set KEEPSTATE_STORE/);
    } finally {
      if (saved !== undefined) process.env.KEEPSTATE_STORE = saved;
    }
  });

  test('clearsessions on a store that can be cleared prints the count', async () => {
    const { code, out } = await run('clearsessions', '--store', 'memory:');
    assert.equal(code, 0);
    assert.equal(out, 'Deleted 0 expired sessions.\n');
  });

  test("clearsessions on a self-expiring store fails with Django's message", async () => {
    const { code, err } = await run('clearsessions', '--store', 'cookie:');
    assert.equal(code, 1);
    assert.equal(err, "Session engine 'cookie:' doesn't support clearing expired sessions.\n");
  });

  test('the store URL is read from KEEPSTATE_STORE', async () => {
    process.env.KEEPSTATE_STORE = 'memory:';
    try {
      assert.equal((await run('clearsessions')).code, 0);
    } finally {
      delete process.env.KEEPSTATE_STORE;
    }
  });

  test('migrate on a store without a table says so', async () => {
    const { code, err } = await run('migrate', '--store', 'memory:');
    assert.equal(code, 1);
    assert.match(err, /has no table to migrate/);
  });

  test('an unknown scheme names the schemes there are', async () => {
    await assert.rejects(
      run('clearsessions', '--store', 'nosql://x'),
      /no store for the scheme "nosql:"/,
    );
  });
});
