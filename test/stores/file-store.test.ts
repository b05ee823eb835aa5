import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { CreateError, SessionInterrupted, StoreError, UpdateError } from '../../src/core/errors.js';
import { EXPIRY_KEY, expiryDate, isoformat } from '../../src/core/expiry.js';
import { generateSessionKey } from '../../src/core/session-key.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionData, SessionRecord } from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { FileStore } from '../../src/stores/file-store.js';
import { attach, TEST_SECRET } from '../support/attach.js';
import { storeSuite } from '../support/store-suite.js';
import { type TestClock, testClock } from '../support/test-clock.js';
import { vectors } from '../support/vectors.js';

const NOW = 1_700_000_000;
const COOKIE_AGE = 1_209_600;
const silent = { warn() {} };

const folders: string[] = [];
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

/** A new empty folder, removed when the file's tests end. */
async function freshFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'keepstate-file-store-'));
  folders.push(folder);
  return folder;
}

interface FileState {
  readonly name: string;
  readonly content: string;
  /** Seconds since the epoch. */
  readonly mtime: number;
}

/** Every entry of `folder`, sorted by name, with content and mtime. */
async function files(folder: string): Promise<FileState[]> {
  const names = (await readdir(folder)).sort();
  return Promise.all(
    names.map(async (name) => {
      const path = join(folder, name);
      const stats = await stat(path);
      const content = stats.isFile() ? await readFile(path, 'utf8') : '<folder>';
      return { name, content, mtime: stats.mtimeMs / 1000 };
    }),
  );
}

/** Writes a file as someone else (Django, an operator) would, with the given mtime in seconds. */
async function put(path: string, content: string, mtime: number): Promise<void> {
  await writeFile(path, content);
  await utimes(path, mtime, mtime);
}

/** A FileStore on a fresh folder, attached to a manager on a test clock. */
async function setup(options: { cookieName?: string; cookieAge?: number; prefix?: string } = {}) {
  const folder = await freshFolder();
  const clock = testClock();
  const store = new FileStore({
    path: folder,
    ...(options.prefix !== undefined && { prefix: options.prefix }),
  });
  const manager = new SessionManager({
    store,
    secret: TEST_SECRET,
    clock,
    logger: silent,
    ...(options.cookieName !== undefined && { cookieName: options.cookieName }),
    ...(options.cookieAge !== undefined && { cookieAge: options.cookieAge }),
  });
  return { folder, clock, store, manager };
}

/** A record as the core saves it: expiresAt from the data and the clock, as `Session.save` does. */
function coreRecord(
  sessionKey: string,
  data: SessionData,
  clock: TestClock,
  cookieAge = COOKIE_AGE,
): SessionRecord {
  return { sessionKey, data, expiresAt: expiryDate(data[EXPIRY_KEY], clock(), cookieAge) };
}

// The suite moves an injected clock while file times are wall-clock time: the store sets each
// file's mtime from the manager's clock when it writes (FileStore's #times), so mtime + cookieAge
// expiry follows the suite's clock.
storeSuite('FileStore', async (clock) =>
  attach(new FileStore({ path: await freshFolder() }), clock),
);

describe('Django 5.2 file vectors, through a FileStore', () => {
  // Beyond Django (see FileStore): a number given to set_expiry counts from the file's mtime.
  // Django takes it as the remaining age, so its file-002 session is still there at +301 s and
  // at +140 days; keepstate's is gone at +300 s (the file is deleted when read).
  const keepstate: Record<string, Record<number, { result: SessionData; files: FileState[] }>> = {
    'file-002': { 1: { result: {}, files: [] }, 2: { result: {}, files: [] } },
  };

  type Op = {
    op: 'write' | 'read' | 'put';
    key?: string;
    data?: SessionData;
    expiry?: number;
    expiry_datetime?: string;
    now?: number;
    name?: string;
    content?: string;
    mtime?: number;
  };

  const all = vectors('file');
  test('there are 8 of them', () => assert.equal(all.length, 8));

  for (const vector of all) {
    test(`${vector.id}: ${vector.description}`, async () => {
      const folder = await freshFolder();
      const clock = testClock();
      const cookieName = vector.input.env?.DJANGO_SESSION_COOKIE_NAME ?? 'sessionid';
      const store = new FileStore({ path: folder });
      const manager = new SessionManager({
        store,
        secret: 'interop-secret',
        allowShortSecret: true,
        cookieName,
        clock,
        logger: silent,
      });
      const ops = vector.input.ops as Op[];
      for (const [index, op] of ops.entries()) {
        const output = vector.output[index];
        clock.set(op.now ?? NOW);
        if (op.op === 'put') {
          await put(join(folder, op.name ?? ''), op.content ?? '', op.mtime ?? NOW);
          continue;
        }
        const override = keepstate[vector.id]?.[index];
        if (op.op === 'write') {
          // A Session always makes its own random key, so writes with the vector's key go to the
          // store, with the data and expiresAt a Session would give it.
          const data: SessionData = { ...op.data };
          if (op.expiry !== undefined) data[EXPIRY_KEY] = op.expiry;
          if (op.expiry_datetime !== undefined) {
            data[EXPIRY_KEY] = isoformat(new Date(op.expiry_datetime));
          }
          const record = coreRecord(op.key ?? '', data, clock);
          if (output.error) {
            // Django: InvalidSessionKey. The store refuses before building any path.
            await assert.rejects(store.create(record), RangeError);
          } else {
            assert.equal(await store.create(record), output.result);
          }
        } else {
          const session = manager.open({ [cookieName]: op.key ?? '' });
          const data = Object.fromEntries(await session.items());
          assert.deepEqual(data, override?.result ?? output.result);
          // The store itself answers the same, also for keys the manager refused before it.
          const direct = await store.load(op.key ?? '');
          assert.deepEqual(direct?.data ?? {}, override?.result ?? output.result);
        }
        const expected: FileState[] = override?.files ?? output.files_after;
        // Django's expired reads leave an empty placeholder under a new random key
        // (`<random:sessionid>`): keepstate's core creates a record only when something is
        // saved, so no file is expected in its place.
        const wanted = expected.filter((file) => !file.name.startsWith('<random:'));
        const actual = await files(folder);
        assert.deepEqual(
          actual.map((file) => file.name),
          wanted.map((file) => file.name).sort(),
        );
        for (const want of wanted) {
          const got = actual.find((file) => file.name === want.name);
          assert.ok(got);
          if (vector.decode_only) {
            // zlib builds differ: Django's bytes and ours must decode to the same data.
            assert.deepEqual(manager.codec.decode(got.content), manager.codec.decode(want.content));
            assert.notEqual(manager.codec.decode(got.content), null);
          } else {
            assert.equal(got.content, want.content);
          }
          if (want.mtime !== undefined) assert.equal(got.mtime, want.mtime);
        }
      }
    });
  }

  test('key-fallbacks-017: a file written under an old secret reads through fallbackSecrets', async () => {
    const [vector] = vectors('key-fallbacks').filter((v) => v.id === 'key-fallbacks-017');
    assert.ok(vector);
    const [write, withFallback, without] = vector.input.ops;
    const folder = await freshFolder();
    const clock = testClock();
    const storeWith = (secret: string, fallbackSecrets: string[] = []) => {
      const store = new FileStore({ path: folder });
      new SessionManager({
        store,
        secret,
        fallbackSecrets,
        allowShortSecret: true,
        clock,
        logger: silent,
      });
      return store;
    };
    await storeWith(write.secret).create(coreRecord(write.key, write.data, clock));
    const [file] = await files(folder);
    assert.equal(file?.content, vector.output[0].files_after[0].content);
    const rotated = await storeWith('interop-secret', [write.secret]).load(withFallback.key);
    assert.deepEqual(rotated?.data, vector.output[1].result);
    // Without the fallback the signature fails: an empty session, and the file stays.
    const plain = await storeWith('interop-secret').load(without.key);
    assert.deepEqual(plain?.data, vector.output[2].result);
    assert.equal((await files(folder)).length, 1);
  });
});

describe('FileStore', () => {
  test('a request saves the file Django would write; the next reads it; logout deletes it', async () => {
    const { folder, clock, manager } = await setup();
    const first = manager.open(null);
    await first.set('name', 'Zoë');
    const commit = await manager.commit(first, 200);
    const key = first.sessionKey;
    assert.match(key ?? '', /^[a-z0-9]{32}$/);
    assert.match(commit.setCookie ?? '', new RegExp(`^sessionid=${key};`));
    const [file] = await files(folder);
    assert.deepEqual(file, {
      name: `sessionid${key}`,
      content: manager.codec.encode({ name: 'Zoë' }),
      mtime: NOW,
    });
    if (process.platform !== 'win32') {
      assert.equal((await stat(join(folder, file.name))).mode & 0o777, 0o600);
    }

    clock.advance(60);
    const second = manager.open(`sessionid=${key}`);
    assert.equal(await second.get('name'), 'Zoë');
    assert.deepEqual(await manager.commit(second, 200), {
      setCookie: null,
      vary: true,
      cacheControlPrivate: false,
    });

    const third = manager.open(`sessionid=${key}`);
    await third.flush();
    assert.match((await manager.commit(third, 200)).setCookie ?? '', /^sessionid=""/);
    assert.deepEqual(await files(folder), []);
  });

  test('the prefix option names the files; the default is the cookie name', async () => {
    const named = await setup({ cookieName: 'sid' });
    const key = generateSessionKey();
    await named.store.create(coreRecord(key, { a: 1 }, named.clock));
    assert.deepEqual(
      (await files(named.folder)).map((f) => f.name),
      [`sid${key}`],
    );

    const prefixed = await setup({ cookieName: 'sid', prefix: 'keepstate_' });
    await prefixed.store.create(coreRecord(key, { a: 1 }, prefixed.clock));
    assert.deepEqual(
      (await files(prefixed.folder)).map((f) => f.name),
      [`keepstate_${key}`],
    );
    assert.deepEqual((await prefixed.store.load(key))?.data, { a: 1 });
  });

  test('keys that are not [a-z0-9]{8,40} touch no file, not even one a traversal would reach', async () => {
    const root = await freshFolder();
    const folder = join(root, 'a', 'b', 'sessions');
    await mkdir(folder, { recursive: true });
    const clock = testClock();
    const store = attach(new FileStore({ path: folder }), clock);
    const codec = new SessionManager({ store, secret: TEST_SECRET, clock, logger: silent }).codec;
    const keys = [
      '../../etc/passwd',
      '../../../etc/passwd',
      'abcdefgh/../../../../etc/passwd',
      '..\\..\\etc\\passwd',
      '/etc/passwd',
      'ABCDEFGH12345678',
      'short',
      'a'.repeat(41),
      '',
      'abcdefgh\0',
    ];
    // Where each key would lead if the store joined it to the folder: plant an expired,
    // validly signed session there, which a load would read and then delete.
    const planted = new Set(
      keys.filter((key) => /[/\\]/.test(key)).map((key) => resolve(folder, `sessionid${key}`)),
    );
    const content = codec.encode({ planted: true });
    const mtime = NOW - 2 * COOKIE_AGE;
    for (const path of planted) {
      await mkdir(dirname(path), { recursive: true });
      await put(path, content, mtime);
    }
    for (const key of keys) {
      assert.equal(await store.load(key), null, key);
      assert.equal(await store.exists(key), false, key);
      await store.delete(key);
      const record = { sessionKey: key, data: { a: 1 }, expiresAt: new Date((NOW + 60) * 1000) };
      await assert.rejects(store.create(record), RangeError, key);
      await assert.rejects(store.save(record), RangeError, key);
    }
    assert.equal(await store.clearExpired(), 0);
    assert.equal(planted.size, 5);
    for (const path of planted) {
      assert.equal(await readFile(path, 'utf8'), content);
      assert.equal((await stat(path)).mtimeMs / 1000, mtime);
    }
    // Nothing else anywhere under the test's root: no file was created.
    const everything = await readdir(root, { recursive: true, withFileTypes: true });
    const created = everything
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
    assert.deepEqual(created.sort(), [...planted].sort());
  });

  test('a file deleted by someone else (a logout elsewhere) makes save fail with UpdateError', async () => {
    const { folder, clock, store } = await setup();
    const record = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await store.create(record);
    await unlink(join(folder, `sessionid${record.sessionKey}`));
    await assert.rejects(store.save({ ...record, data: { a: 2 } }), UpdateError);
    assert.deepEqual(await files(folder), []);
  });

  test('a logout in a concurrent request wins: the other request gets SessionInterrupted', async () => {
    const { folder, manager } = await setup();
    const login = manager.open(null);
    await login.set('user', 'alice');
    await manager.commit(login, 200);
    const cookie = `sessionid=${login.sessionKey}`;

    const slow = manager.open(cookie);
    assert.equal(await slow.get('user'), 'alice');
    const logout = manager.open(cookie);
    await logout.flush();
    await manager.commit(logout, 200);
    await slow.set('cart', [1, 2]);
    await assert.rejects(async () => manager.commit(slow, 200), SessionInterrupted);
    assert.deepEqual(await files(folder), []);
  });

  test('saves leave no temporary file behind, also when they fail', async () => {
    const { folder, clock, store } = await setup();
    const live = coreRecord(generateSessionKey(), { n: 0 }, clock);
    await store.create(live);
    for (let n = 1; n <= 20; n++) await store.save({ ...live, data: { n } });
    assert.deepEqual((await store.load(live.sessionKey))?.data, { n: 20 });

    const gone = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await assert.rejects(store.save(gone), UpdateError);

    // A folder where the session file should be: the rename fails, the store reports it.
    const blocked = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await mkdir(join(folder, `sessionid${blocked.sessionKey}`));
    await assert.rejects(store.save(blocked), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.ok(error.cause instanceof Error);
      assert.doesNotMatch(error.message, new RegExp(blocked.sessionKey));
      return true;
    });
    assert.deepEqual(
      (await readdir(folder)).sort(),
      [`sessionid${blocked.sessionKey}`, `sessionid${live.sessionKey}`].sort(),
    );
  });

  test('file system errors other than a missing file are StoreError with the cause', async () => {
    const { folder, store } = await setup();
    const key = generateSessionKey();
    await mkdir(join(folder, `sessionid${key}`));
    await assert.rejects(store.load(key), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal((error.cause as { code?: string }).code, 'EISDIR');
      return true;
    });
  });

  test('create replaces an expired file but not a live one', async () => {
    const { clock, store } = await setup();
    const record = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await store.create(record);
    await assert.rejects(store.create({ ...record, data: { a: 2 } }), CreateError);
    clock.advance(COOKIE_AGE);
    await store.create(coreRecord(record.sessionKey, { a: 3 }, clock));
    assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 3 });
  });

  describe('expiry', () => {
    test('by mtime + cookieAge, gone at the instant, and the expired file is deleted', async () => {
      const { folder, clock, manager } = await setup({ cookieAge: 600 });
      const session = manager.open(null);
      await session.set('a', 1);
      await manager.commit(session, 200);
      const cookie = `sessionid=${session.sessionKey}`;
      clock.advance(599);
      assert.equal(await manager.open(cookie).get('a'), 1);
      clock.advance(1);
      assert.equal(await manager.open(cookie).get('a'), undefined);
      assert.deepEqual(await files(folder), []);
    });

    test('beyond Django: setExpiry(seconds) counts from the last save, so it is an inactivity timeout', async () => {
      const { folder, clock, manager } = await setup();
      const session = manager.open(null);
      await session.set('a', 1);
      await session.setExpiry(300);
      await manager.commit(session, 200);
      const cookie = `sessionid=${session.sessionKey}`;
      clock.advance(200);
      const again = manager.open(cookie);
      await again.set('b', 2);
      await manager.commit(again, 200);
      assert.equal((await files(folder))[0]?.mtime, NOW + 200);
      clock.advance(299);
      assert.equal(await manager.open(cookie).get('b'), 2);
      clock.advance(1);
      assert.equal(await manager.open(cookie).get('b'), undefined);
      assert.deepEqual(await files(folder), []);
    });

    test("beyond Django: Django's own file with _session_expiry=300 ends 300 s after its mtime", async () => {
      const [vector] = vectors('file').filter((v) => v.id === 'file-002');
      assert.ok(vector);
      const { folder, clock, store } = await djangoSetup();
      const key = vector.input.ops[0].key;
      await put(join(folder, `sessionid${key}`), vector.output[0].files_after[0].content, NOW);
      clock.set(NOW + 299);
      assert.equal((await store.load(key))?.data[EXPIRY_KEY], 300);
      clock.set(NOW + 300);
      assert.equal(await store.load(key), null);
    });

    test('a Date given to setExpiry is the expiry, whatever the mtime', async () => {
      const { folder, clock, manager } = await setup();
      const session = manager.open(null);
      await session.set('a', 1);
      await session.setExpiry(new Date((NOW + 300) * 1000));
      await manager.commit(session, 200);
      const [file] = await files(folder);
      assert.equal(file?.mtime, NOW);
      await utimes(join(folder, file?.name ?? ''), NOW - 10 * COOKIE_AGE, NOW - 10 * COOKIE_AGE);
      clock.advance(299);
      assert.equal(await manager.open(`sessionid=${session.sessionKey}`).get('a'), 1);
      clock.advance(1);
      assert.equal(await manager.open(`sessionid=${session.sessionKey}`).get('a'), undefined);
    });

    test("beyond Django: an empty file (Django's placeholder) expires by its mtime too", async () => {
      const { folder, clock, store } = await setup();
      const key = generateSessionKey();
      await put(join(folder, `sessionid${key}`), '', NOW);
      assert.deepEqual((await store.load(key))?.data, {});
      clock.advance(COOKIE_AGE);
      assert.equal(await store.load(key), null);
      assert.deepEqual(await files(folder), []);
    });
  });

  describe('clearExpired', () => {
    test('deletes expired session files only, streaming the folder, and reports progress', async () => {
      const { folder, clock, store, manager } = await setup();
      const expired: string[] = [];
      for (let n = 0; n < 150; n++) {
        const record = coreRecord(generateSessionKey(), { n }, clock, 60);
        await store.create(record);
        expired.push(record.sessionKey);
      }
      const live = coreRecord(generateSessionKey(), { live: true }, clock);
      await store.create(live);
      const old = NOW - 2 * COOKIE_AGE;
      const foreign = [
        `other${generateSessionKey()}`, // another prefix
        `sessionid${generateSessionKey()}_out_x1y2z3`, // a Django temporary file
        'sessionid', // the prefix alone
        'README',
      ];
      for (const name of foreign) await put(join(folder, name), manager.codec.encode({}), old);
      await mkdir(join(folder, `sessionid${generateSessionKey()}`));

      clock.advance(60);
      const progress: number[] = [];
      assert.equal(await store.clearExpired({ onProgress: (n) => progress.push(n) }), 150);
      assert.deepEqual(progress, [100, 150]);
      const left = await readdir(folder);
      for (const key of expired) assert.ok(!left.includes(`sessionid${key}`));
      for (const name of foreign) assert.ok(left.includes(name), name);
      assert.equal(left.length, 1 + foreign.length + 1);
      assert.deepEqual((await store.load(live.sessionKey))?.data, { live: true });

      const none: number[] = [];
      assert.equal(await store.clearExpired({ onProgress: (n) => none.push(n) }), 0);
      assert.deepEqual(none, [0]);
    });

    test('deletes temporary files of saves that died, once an hour old (by ctime)', async () => {
      const { folder, store } = await setup();
      const temporary = `sessionid${generateSessionKey()}.0123456789ab.tmp`;
      await put(join(folder, temporary), 'half-written', NOW);
      assert.equal(await store.clearExpired(), 0);
      assert.deepEqual(await readdir(folder), [temporary]);

      // The ctime is the real time of the write; a sweep an hour and more later removes it.
      const later = testClock(Math.ceil(Date.now() / 1000) + 3601);
      const sweeper = attach(new FileStore({ path: folder }), later);
      assert.equal(await sweeper.clearExpired(), 0);
      assert.deepEqual(await readdir(folder), []);
    });
  });

  describe('configuration', () => {
    test('path defaults to the temporary folder, as Django', () => {
      assert.equal(new FileStore().path, resolve(tmpdir()));
    });

    test('a path that is not a folder, or a prefix with a separator, fails at construction', async () => {
      const folder = await freshFolder();
      assert.throws(() => new FileStore({ path: join(folder, 'missing') }), ImproperlyConfigured);
      await writeFile(join(folder, 'file'), '');
      assert.throws(() => new FileStore({ path: join(folder, 'file') }), /option `path`/);
      for (const prefix of ['a/b', '..\\x', '', 'a b']) {
        assert.throws(() => new FileStore({ path: folder, prefix }), /option `prefix`/);
      }
    });

    test('used without a SessionManager it says how to attach it', async () => {
      const store = new FileStore({ path: await freshFolder(), prefix: 'sessionid' });
      await assert.rejects(store.load(generateSessionKey()), ImproperlyConfigured);
      await assert.rejects(store.clearExpired(), ImproperlyConfigured);
    });
  });
});

/** A FileStore with the vectors' secret, for files Django wrote. */
async function djangoSetup() {
  const folder = await freshFolder();
  const clock = testClock();
  const store = new FileStore({ path: folder });
  new SessionManager({
    store,
    secret: 'interop-secret',
    allowShortSecret: true,
    clock,
    logger: silent,
  });
  return { folder, clock, store };
}

describe('FileStore: update, the lock file and the user index', () => {
  const USER_KEY = USER_SESSION_KEYS.userId;
  const lockOf = (folder: string, key: string) => join(folder, `sessionid${key}.lock`);
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  test('the lock file is released after a merge that throws, and nothing is written', async () => {
    const { folder, clock, store } = await setup();
    const record = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await store.create(record);
    await assert.rejects(
      store.update(record.sessionKey, () => {
        throw new TypeError('merge failed');
      }),
      TypeError,
    );
    assert.deepEqual(await readdir(folder), [`sessionid${record.sessionKey}`]);
    assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 1 });
    await store.update(record.sessionKey, (latest) => ({ ...record, data: { ...latest, b: 2 } }));
    assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 1, b: 2 });
    assert.deepEqual(await readdir(folder), [`sessionid${record.sessionKey}`]);
  });

  test('a stale lock (left by a process that died) is broken; a live one is waited for', async () => {
    const { folder, clock, store } = await setup();
    const record = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await store.create(record);
    const lock = lockOf(folder, record.sessionKey);
    const stale = Date.now() / 1000 - 10;
    await put(lock, '', stale);
    await store.update(record.sessionKey, (latest) => ({ ...record, data: { ...latest, b: 2 } }));
    assert.equal(await exists(lock), false);
    assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 1, b: 2 });

    // A live lock: the update waits until its holder lets go.
    await writeFile(lock, '');
    let done = false;
    const waiting = store
      .update(record.sessionKey, (latest) => ({ ...record, data: { ...latest, c: 3 } }))
      .then(() => {
        done = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(done, false, 'the update waits for the lock');
    assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 1, b: 2 });
    await unlink(lock);
    await waiting;
    assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 1, b: 2, c: 3 });
  });

  test('a delete waits for the lock too, then wins over the update that held it', async () => {
    const { folder, clock, store } = await setup();
    const record = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await store.create(record);
    const lock = lockOf(folder, record.sessionKey);
    await writeFile(lock, '');
    let deleted = false;
    const logout = store.delete(record.sessionKey).then(() => {
      deleted = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(deleted, false);
    await unlink(lock);
    await logout;
    await assert.rejects(
      store.update(record.sessionKey, () => record),
      UpdateError,
    );
    assert.deepEqual(await readdir(folder), []);
  });

  test('update writes the file Django would: its encoding, its name, its mtime rule', async () => {
    const { folder, clock, store, manager } = await setup();
    const record = coreRecord(generateSessionKey(), { a: 1 }, clock);
    await store.create(record);
    clock.advance(120);
    await store.update(record.sessionKey, (latest) =>
      coreRecord(record.sessionKey, { ...latest, b: 'Zoë' }, clock),
    );
    const [file, ...others] = await files(folder);
    assert.deepEqual(others, []);
    assert.equal(file?.name, `sessionid${record.sessionKey}`);
    assert.deepEqual(manager.codec.decode(file?.content ?? ''), { a: 1, b: 'Zoë' });
    assert.equal(file?.mtime, NOW + 120, 'mtime + cookieAge is the new expiry');
    // A store on the Django vectors' secret reads it as Django would write it.
    const django = await djangoSetup();
    const key = generateSessionKey();
    await django.store.create(coreRecord(key, { a: 1 }, django.clock));
    await django.store.update(key, (latest) =>
      coreRecord(key, { ...latest, [EXPIRY_KEY]: 300 }, django.clock),
    );
    const [written] = await files(django.folder);
    const codec = new SessionManager({
      store: new FileStore({ path: django.folder }),
      secret: 'interop-secret',
      allowShortSecret: true,
      logger: silent,
    }).codec;
    assert.deepEqual(codec.decode(written?.content ?? ''), { a: 1, [EXPIRY_KEY]: 300 });
  });

  test('concurrent updates from two FileStores over one folder keep every change', async () => {
    const { folder, clock, store } = await setup();
    const other = new FileStore({ path: folder });
    new SessionManager({ store: other, secret: TEST_SECRET, clock, logger: silent });
    const record = coreRecord(generateSessionKey(), { start: true }, clock);
    await store.create(record);
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await Promise.all(
      keys.map((key, i) =>
        (i % 2 === 0 ? store : other).update(record.sessionKey, (latest) => ({
          ...record,
          data: { ...latest, [key]: i },
        })),
      ),
    );
    const data = (await store.load(record.sessionKey))?.data ?? {};
    assert.deepEqual(Object.keys(data).sort(), ['start', ...keys].sort());
    assert.deepEqual(await readdir(folder), [`sessionid${record.sessionKey}`]);
  });

  test('the user index: one JSON file per user in keepstate-users.<prefix>, ignored by scans', async () => {
    const { folder, clock, store } = await setup();
    const record: SessionRecord = {
      ...coreRecord(generateSessionKey(), { [USER_KEY]: 'u/1' }, clock),
      userId: 'u/1',
      userAgent: 'Firefox',
    };
    await store.create(record);
    const indexFolder = join(folder, 'keepstate-users.sessionid');
    const name = `${createHash('sha256').update('u/1').digest('hex')}.json`;
    assert.deepEqual(await readdir(indexFolder), [name]);
    const index = JSON.parse(await readFile(join(indexFolder, name), 'utf8'));
    assert.deepEqual(index, {
      user: 'u/1',
      sessions: {
        [record.sessionKey]: {
          createdAt: NOW * 1000,
          lastActivity: NOW * 1000,
          expiresAt: record.expiresAt.getTime(),
          userAgent: 'Firefox',
        },
      },
    });
    if (process.platform !== 'win32') {
      assert.equal((await stat(indexFolder)).mode & 0o777, 0o700);
      assert.equal((await stat(join(indexFolder, name))).mode & 0o777, 0o600);
    }
    // Neither list() nor clearExpired mistakes the folder, or a lock file, for a session.
    await writeFile(lockOf(folder, generateSessionKey()), '');
    assert.deepEqual(
      (await store.list(10)).map((r) => r.sessionKey),
      [record.sessionKey],
    );
    assert.equal(await store.clearExpired(), 0);
  });

  test('clearExpired takes the sessions it deletes out of the index, and sweeps stale locks', async () => {
    const { folder, clock, store } = await setup();
    const owned = (userId: string, age: number): SessionRecord => ({
      ...coreRecord(generateSessionKey(), { [USER_KEY]: userId }, clock, age),
      userId,
    });
    const short = owned('u1', 60);
    const long = owned('u1', COOKIE_AGE);
    const alone = owned('u2', 60);
    for (const record of [short, long, alone]) await store.create(record);
    const staleLock = lockOf(folder, generateSessionKey());
    await put(staleLock, '', Date.now() / 1000 - 10);
    const indexFolder = join(folder, 'keepstate-users.sessionid');
    await put(join(indexFolder, `${'0'.repeat(64)}.json.lock`), '', Date.now() / 1000 - 10);
    clock.advance(60);
    assert.equal(await store.clearExpired(), 2);
    assert.equal(await exists(staleLock), false);
    const u1 = `${createHash('sha256').update('u1').digest('hex')}.json`;
    assert.deepEqual(await readdir(indexFolder), [u1], "u2's index is gone with its session");
    const index = JSON.parse(await readFile(join(indexFolder, u1), 'utf8'));
    assert.deepEqual(Object.keys(index.sessions), [long.sessionKey]);
  });

  test('deleteUserSessions spares a session that moved to another user meanwhile', async () => {
    const { clock, store } = await setup();
    const record: SessionRecord = {
      ...coreRecord(generateSessionKey(), { [USER_KEY]: 'u1' }, clock),
      userId: 'u1',
    };
    await store.create(record);
    // Moved by a write that does not know the old user (a Django process, say): u1's index
    // still names it.
    await store.save({ ...record, data: { [USER_KEY]: 'u2' }, userId: 'u2' });
    assert.equal(await store.deleteUserSessions('u1'), 0);
    assert.deepEqual((await store.load(record.sessionKey))?.data, { [USER_KEY]: 'u2' });
    assert.equal((await store.listSessions('u2')).length, 1);
  });

  test('save, update and delete hold the lock, and leave neither lock nor temporary file', async () => {
    const { folder, clock, store } = await setup();
    const record = coreRecord(generateSessionKey(), { n: 0 }, clock);
    await store.create(record);
    await Promise.all([
      store.save({ ...record, data: { n: 1 } }),
      store.update(record.sessionKey, (latest) => ({ ...record, data: { ...latest, m: 1 } })),
    ]);
    assert.deepEqual(await readdir(folder), [`sessionid${record.sessionKey}`]);
    await store.delete(record.sessionKey);
    assert.deepEqual(await readdir(folder), []);
  });
});
