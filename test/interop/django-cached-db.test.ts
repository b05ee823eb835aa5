/**
 * Django's `cached_db` engine beside keepstate's `SqliteStore` on the same table: keepstate
 * reads every session Django writes (cached_db writes the table first), but Django reads a
 * session from its cache first, so keepstate's changes and deletions to a session Django has
 * cached stay hidden from Django until the cache entry expires. The guide documents this; the
 * test proves both halves against Django 5.2 (its cache is a `FileBasedCache` folder, so it
 * outlives the peer's process as a shared cache would).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import Database from 'better-sqlite3';
import { decodeSessionData } from '../../src/core/session-codec.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';
import { type DjangoOp, describeWithDjango, findDjango, runDjango } from '../support/django.js';
import {
  type DjangoSessionReport,
  recordingLogger,
  SECRET,
  type StoredReport,
} from './engine-round-trips.js';

/** What the peer's `stored` reports for cached_db: the row, and Django's cache entry. */
interface CachedDbStored extends StoredReport {
  readonly cached: Record<string, unknown> | null;
}

describeWithDjango('the cached_db engine beside SqliteStore', await findDjango('5.2'), (peer) => {
  let folder = '';
  let database: Database.Database;
  const django = async (ops: readonly DjangoOp[]) =>
    (
      await runDjango(peer, {
        secret: SECRET,
        settings: {
          database: { engine: 'sqlite', name: join(folder, 'db.sqlite3') },
          cache_location: join(folder, 'cache'),
        },
        ops,
      })
    ).results as DjangoSessionReport[];
  const manager = () =>
    new SessionManager({
      store: new SqliteStore(database),
      secret: SECRET,
      logger: recordingLogger(),
    });
  const keepstateWrite = async (
    key: string | null,
    change: (session: ReturnType<SessionManager['open']>) => Promise<void>,
  ) => {
    const m = manager();
    const session = m.open(key === null ? null : `sessionid=${key}`);
    await change(session);
    await m.commit(session, 200);
    return session.sessionKey;
  };

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'keepstate-django-cached-db-'));
    await mkdir(join(folder, 'cache'));
    await django([{ op: 'migrate', apps: ['sessions'] }]);
    database = new Database(join(folder, 'db.sqlite3'), { timeout: 5_000 });
  });

  after(async () => {
    database?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('keepstate reads what cached_db writes, and cached_db reads what keepstate creates', async () => {
    const [written] = await django([
      { op: 'session_write', engine: 'cached_db', actions: [{ update: { user: 'alice' } }] },
    ]);
    const key = written?.cookie?.value;
    assert.ok(key);
    const session = manager().open(`sessionid=${key}`);
    assert.deepEqual(Object.fromEntries(await session.items()), { user: 'alice' });

    const ours = await keepstateWrite(null, (s) => s.set('user', 'bob'));
    assert.ok(ours);
    const [read] = await django([{ op: 'session_read', engine: 'cached_db', key: ours }]);
    assert.deepEqual(read?.data, { user: 'bob' });
  });

  it("hides keepstate's changes and its logout from Django while Django's cache holds the session (a documented limit)", async () => {
    const [written] = await django([
      { op: 'session_write', engine: 'cached_db', actions: [{ update: { user: 'carol' } }] },
    ]);
    const key = written?.cookie?.value;
    assert.ok(key);
    const look = async () => {
      const [stored, read] = await django([
        { op: 'stored', engine: 'cached_db', key },
        { op: 'session_read', engine: 'cached_db', key },
      ]);
      return { stored: stored as unknown as CachedDbStored | null, read: read! };
    };

    await keepstateWrite(key, (session) => session.set('cart', ['book']));
    const changed = await look();
    const table = changed.stored?.session_data;
    assert.ok(table, 'the row is there');
    assert.deepEqual(decodeSessionData(table, { secret: SECRET }), {
      user: 'carol',
      cart: ['book'],
    });
    assert.deepEqual(changed.stored?.cached, { user: 'carol' });
    assert.deepEqual(changed.read.data, { user: 'carol' }, 'Django serves its cached copy');

    await keepstateWrite(key, (session) => session.flush());
    const loggedOut = await look();
    assert.equal(loggedOut.stored?.session_data, undefined, 'the row is gone');
    assert.deepEqual(loggedOut.stored?.cached, { user: 'carol' }, 'the cache entry is not');
    assert.deepEqual(loggedOut.read.data, { user: 'carol' }, 'the logout does not reach Django');
  });
});
