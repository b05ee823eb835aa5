import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { storeFromUrl } from '../../src/stores/store-from-url.js';

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

describe('keepstate CLI on a real SQLite file', () => {
  const secret = 'a-test-secret-that-is-long-enough-0123456789';

  async function withDatabase(run: (url: string) => Promise<void>) {
    const dir = await mkdtemp(join(tmpdir(), 'keepstate-cli-'));
    try {
      await run(`sqlite:${join(dir, 'sessions.sqlite3')}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Saves sessions through a manager whose clock is `at` (epoch seconds). */
  async function seed(url: string, at: number, count: number, cookieAge: number) {
    const store = await storeFromUrl(url);
    const manager = new SessionManager({
      store,
      secret,
      cookieAge,
      clock: () => new Date(at * 1000),
    });
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const session = manager.open(null);
      await session.set('n', i);
      await manager.commit(session, 200);
      keys.push(session.sessionKey ?? '');
    }
    await store.close();
    return keys;
  }

  test('migrate, then clearsessions deletes exactly the expired sessions', async () => {
    await withDatabase(async (url) => {
      assert.deepEqual(await run('migrate', '--store', url), {
        code: 0,
        out: 'The session table is ready.\n',
        err: '',
      });
      const now = Math.floor(Date.now() / 1000);
      await seed(url, now - 7200, 3, 60);
      const live = await seed(url, now, 2, 3600);
      const cleared = await run('clearsessions', '--store', url);
      assert.equal(cleared.code, 0);
      assert.equal(cleared.out, 'Deleted 3 expired sessions.\n');
      assert.equal(
        (await run('clearsessions', '--store', url)).out,
        'Deleted 0 expired sessions.\n',
      );
      process.env.KEEPSTATE_SECRET = secret;
      try {
        const shown = await run('inspect', live[1] ?? '', '--store', url);
        assert.equal(shown.code, 0);
        assert.deepEqual(JSON.parse(shown.out).data, { n: 1 });
      } finally {
        delete process.env.KEEPSTATE_SECRET;
      }
    });
  });

  test('inspect without the secret says where the CLI reads it', async () => {
    await withDatabase(async (url) => {
      await run('migrate', '--store', url);
      const [key = ''] = await seed(url, Math.floor(Date.now() / 1000), 1, 3600);
      const shown = await run('inspect', key, '--store', url);
      assert.equal(shown.code, 2);
      assert.match(shown.err, /KEEPSTATE_SECRET/);
    });
  });

  test('inspect of an unknown or malformed key', async () => {
    await withDatabase(async (url) => {
      await run('migrate', '--store', url);
      process.env.KEEPSTATE_SECRET = secret;
      try {
        assert.equal((await run('inspect', 'a'.repeat(32), '--store', url)).code, 1);
        assert.equal((await run('inspect', '../etc/passwd', '--store', url)).code, 2);
        assert.equal((await run('inspect', '--store', url)).code, 2);
      } finally {
        delete process.env.KEEPSTATE_SECRET;
      }
    });
  });
});
