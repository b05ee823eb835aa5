import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreError } from '../../src/core/errors.js';
import { isoformat } from '../../src/core/expiry.js';
import { SessionCodec } from '../../src/core/session-codec.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionData } from '../../src/core/session-store.js';
import { attach } from '../support/attach.js';
import { storeSuite } from '../support/store-suite.js';
import { type TestClock, testClock } from '../support/test-clock.js';
import { type Vector, vectors } from '../support/vectors.js';
import { byKey, type DjangoRow, instantOf, type SqlHarness, type SqlStore } from './sql-harness.js';
import { sqlUserIndexTests } from './sql-user-index-tests.js';

/** Django's `SECRET_KEY` in the vectors. */
const DJANGO_SECRET = 'interop-secret';
const DJANGO_NOW = 1_700_000_000;
const silent = { warn() {} };

interface Op {
  readonly op: 'write' | 'read' | 'insert';
  readonly key?: string;
  readonly data?: SessionData;
  readonly now?: number;
  readonly secret?: string;
  readonly env?: Record<string, string>;
  readonly expiry?: number;
  readonly expiry_datetime?: string;
  readonly expiry_timedelta?: number;
  readonly row?: DjangoRow;
}

interface Outcome {
  readonly now?: number;
  readonly result?: unknown;
  readonly rows?: DjangoRow[];
}

/** A manager with the op's Django settings, attached to `store` (which then uses its codec). */
function managerFor(op: Op, store: SqlStore, clock: TestClock): SessionManager {
  const fallbacks = op.env?.DJANGO_SECRET_KEY_FALLBACKS;
  return new SessionManager({
    store,
    secret: op.secret ?? DJANGO_SECRET,
    fallbackSecrets: fallbacks ? (JSON.parse(fallbacks) as string[]) : [],
    allowShortSecret: true,
    clock,
    logger: silent,
  });
}

function codecFor(op: Op): SessionCodec {
  return new SessionCodec({ secret: op.secret ?? DJANGO_SECRET, logger: silent });
}

/**
 * Runs Django 5.2's `db` vectors (and the db key rotation, `key-fallbacks-016`) through a
 * SessionManager and Session on `harness`'s store, comparing what reads see and, after each
 * write, the whole table.
 */
function dbVectors(harness: SqlHarness): void {
  const cases = [
    ...vectors('db'),
    ...vectors('key-fallbacks').filter((v) => v.id === 'key-fallbacks-016'),
  ];
  assert.equal(cases.length, 18);
  describe(`${harness.name}: Django 5.2 db vectors`, () => {
    for (const vector of cases) {
      test(`${vector.id}: ${vector.description}`, async () => {
        const clock = testClock(DJANGO_NOW);
        const store = await harness.fresh();
        const written = new Set<string>();
        const inserted = new Map<string, DjangoRow>();
        const ops = vector.input.ops as Op[];
        for (const [index, op] of ops.entries()) {
          const outcome = vector.output[index] as Outcome;
          clock.set(outcome.now ?? op.now ?? DJANGO_NOW);
          const manager = managerFor(op, store, clock);
          if (op.op === 'insert' && op.row) {
            await harness.insert(store, [op.row]);
            inserted.set(op.row.session_key, op.row);
          } else if (op.op === 'write' && op.key && op.data) {
            await write(manager, op, !written.has(op.key));
            written.add(op.key);
            await compareRows(harness, store, vector, op, outcome.rows ?? []);
          } else if (op.op === 'read' && op.key !== undefined) {
            const session = manager.open({ sessionid: op.key });
            const seen = Object.fromEntries(await session.items());
            const row = inserted.get(op.key);
            assert.deepEqual(seen, expectedRead(harness, vector, op, row, outcome), op.key);
          } else {
            assert.fail(`unknown op ${JSON.stringify(op)}`);
          }
        }
      });
    }
  });
}

/**
 * Django's write op: a session under the op's key holding exactly the op's data. The first write
 * to a key inserts it (`save(mustCreate)`, Django's `save(must_create=True)`); later ones update
 * it. `clear()` first, so the session starts from the op's data without loading the old row.
 */
async function write(manager: SessionManager, op: Op, first: boolean): Promise<void> {
  const session = manager.open({ sessionid: op.key ?? '' });
  await session.clear();
  await session.update(op.data ?? {});
  if (op.expiry !== undefined) await session.setExpiry(op.expiry);
  if (op.expiry_datetime !== undefined) {
    const instant = new Date(op.expiry_datetime);
    if (isoformat(instant) === op.expiry_datetime) await session.setExpiry(instant);
    // A JavaScript Date has no UTC offset, so setExpiry writes +00:00; Django keeps the offset
    // of the datetime it was given (db-017: +02:00). The same string, put in the data as
    // Django puts it, gives the same expiry.
    else await session.update({ _session_expiry: op.expiry_datetime });
  }
  if (op.expiry_timedelta !== undefined) {
    const now = manager.options.clock().getTime();
    await session.setExpiry(new Date(now + op.expiry_timedelta * 1000));
  }
  await session.save(first);
  assert.equal(session.sessionKey, op.key);
}

async function compareRows(
  harness: SqlHarness,
  store: SqlStore,
  vector: Vector,
  op: Op,
  expected: readonly DjangoRow[],
): Promise<void> {
  const ours = await harness.rows(store);
  const want = [...expected].sort(byKey);
  if (!vector.decode_only) {
    assert.deepEqual(ours, want);
    return;
  }
  // zlib builds differ: Django's session_data and ours must decode to the same data.
  const codec = codecFor(op);
  assert.equal(ours.length, want.length);
  for (const [i, row] of ours.entries()) {
    const theirs = want[i];
    assert.ok(theirs);
    assert.equal(row.session_key, theirs.session_key);
    assert.equal(row.expire_date, theirs.expire_date);
    const decoded = codec.decode(theirs.session_data);
    assert.ok(decoded, 'Django’s session_data decodes');
    assert.deepEqual(codec.decode(row.session_data), decoded);
  }
}

/**
 * What a read sees. On SQLite, exactly the vector's result. On a typed `expire_date` column
 * (PostgreSQL, MySQL), a foreign row spelled other than Django's SQLite text (db-012, db-013)
 * holds the instant it names, so it lives until that instant, not until its text sorts below
 * now's.
 */
function expectedRead(
  harness: SqlHarness,
  vector: Vector,
  op: Op,
  row: DjangoRow | undefined,
  outcome: Outcome,
): unknown {
  if (harness.textExpireDate || row === undefined) return outcome.result;
  if (vector.id !== 'db-012' && vector.id !== 'db-013') return outcome.result;
  const live = instantOf(row.expire_date).getTime() > (outcome.now ?? DJANGO_NOW) * 1000;
  return live ? (codecFor(op).decode(row.session_data) ?? {}) : {};
}

/** Registers the suite, the vectors and the extras every SQL store shares. */
export function sqlStoreTests(harness: SqlHarness): void {
  storeSuite(harness.name, async (clock) => attach(await harness.fresh(), clock));
  dbVectors(harness);
  sqlUserIndexTests(harness);

  describe(`${harness.name}: as Django's db engine`, () => {
    test('migrate is idempotent and keeps the rows', async () => {
      const clock = testClock();
      const store = attach(await harness.fresh(), clock);
      const row = {
        sessionKey: 'k'.repeat(32),
        data: { a: 1 },
        expiresAt: new Date(clock().getTime() + 60_000),
      };
      await store.create(row);
      await store.migrate();
      await store.migrate();
      assert.deepEqual((await store.load(row.sessionKey))?.data, { a: 1 });
    });

    test('a row Django wrote loads, and saving it writes what Django would', async () => {
      // db-001's row, inserted by raw SQL exactly as Django wrote it.
      const clock = testClock(DJANGO_NOW);
      const store = await harness.fresh();
      const row: DjangoRow = {
        session_key: '68150cfc45bd62a7a166bb670b0a71ae',
        session_data:
          'eyJhIjoxLCJuYW1lIjoiWm9cdTAwZWIifQ:1r31eq:usS90URGMcyaAaNGmgmz6tHDu-2D2fRPDAvnoiptry0',
        expire_date: '2023-11-28 22:13:20',
      };
      await harness.insert(store, [row]);
      const manager = managerFor({ op: 'read' }, store, clock);
      const { version, ...loaded } = (await store.load(row.session_key)) ?? {};
      // A store that gives the stored text back (for update's first compare-and-set) gives it whole.
      if (version !== undefined) assert.equal(version, row.session_data);
      assert.deepEqual(loaded, {
        sessionKey: row.session_key,
        data: { a: 1, name: 'Zoë' },
        expiresAt: new Date('2023-11-28T22:13:20Z'),
      });
      const session = manager.open(`sessionid=${row.session_key}`);
      assert.equal(await session.get('name'), 'Zoë');
      await session.set('a', 1); // the same data again: saved as Django saves it
      await manager.commit(session, 200);
      assert.deepEqual(await harness.rows(store), [row]);
    });

    test('data that does not decode loads as {} and keeps the key, as in Django', async () => {
      const clock = testClock(DJANGO_NOW);
      const store = attach(await harness.fresh(), clock);
      const key = 'b'.repeat(32);
      await harness.insert(store, [
        { session_key: key, session_data: 'x', expire_date: '2023-11-14 23:13:20' },
      ]);
      const { version: _, ...loaded } = (await store.load(key)) ?? {};
      assert.deepEqual(loaded, {
        sessionKey: key,
        data: {},
        expiresAt: new Date('2023-11-14T23:13:20Z'),
      });
    });

    test('clearExpired deletes in batches and keeps live rows', async () => {
      const clock = testClock(DJANGO_NOW);
      const store = attach(await harness.fresh({ clearBatchSize: 1_000 }), clock);
      const expired = Array.from({ length: 5_000 }, (_, i) => ({
        session_key: `expired${String(i).padStart(25, '0')}`,
        session_data: 'x',
        expire_date: '2023-11-14 22:13:19.999000',
      }));
      const live = Array.from({ length: 10 }, (_, i) => ({
        session_key: `live${String(i).padStart(28, '0')}`,
        session_data: 'x',
        expire_date: '2023-11-14 22:13:20.001000',
      }));
      // Django deletes `expire_date < now`: a row at exactly now is not loaded, nor cleared yet.
      const boundary = {
        session_key: 'boundary'.padEnd(32, '0'),
        session_data: 'x',
        expire_date: '2023-11-14 22:13:20',
      };
      await harness.insert(store, [...expired, ...live, boundary]);
      const progress: number[] = [];
      const deleted = await store.clearExpired({ onProgress: (n) => progress.push(n) });
      assert.equal(deleted, 5_000);
      assert.ok(progress.length >= 5, `several batches, saw ${progress.join(', ')}`);
      assert.deepEqual(progress.slice(0, 5), [1_000, 2_000, 3_000, 4_000, 5_000]);
      assert.equal(progress.at(-1), 5_000);
      const left = (await harness.rows(store)).map((row) => row.session_key);
      assert.deepEqual(left, [boundary.session_key, ...live.map((row) => row.session_key)]);
      assert.equal(await store.exists(boundary.session_key), false);
      assert.equal(await store.exists(live[0]?.session_key ?? ''), true);
      assert.equal(await store.clearExpired(), 0);
    });

    test('save after the row expired still updates it, as Django does', async () => {
      const clock = testClock(DJANGO_NOW);
      const store = attach(await harness.fresh(), clock);
      const record = {
        sessionKey: 'c'.repeat(32),
        data: { a: 1 },
        expiresAt: new Date(clock().getTime() + 10_000),
      };
      await store.create(record);
      clock.advance(20);
      await store.save({ ...record, expiresAt: new Date(clock().getTime() + 10_000) });
      assert.deepEqual((await store.load(record.sessionKey))?.data, { a: 1 });
    });

    test('saving identical data twice within one millisecond is not an UpdateError', async () => {
      const clock = testClock(DJANGO_NOW);
      const store = attach(await harness.fresh(), clock);
      const record = {
        sessionKey: 'd'.repeat(32),
        data: { a: 1 },
        expiresAt: new Date(clock().getTime() + 10_000),
      };
      await store.create(record);
      assert.equal(await store.save(record), record.sessionKey);
      assert.equal(await store.save(record), record.sessionKey);
    });
  });
}

/**
 * Asserts that every call of `store` fails with a {@link StoreError} that names the store and
 * keeps the driver's error as `cause`, as when its server is down.
 */
export async function assertOutage(store: SqlStore, name: string): Promise<void> {
  const key = 'f'.repeat(32);
  const record = { sessionKey: key, data: {}, expiresAt: new Date(DJANGO_NOW * 1000) };
  const calls: [string, () => Promise<unknown>][] = [
    ['load', () => store.load(key)],
    ['create', () => store.create(record)],
    ['save', () => store.save(record)],
    ['update', () => store.update?.(key, () => record) ?? Promise.reject(new Error('no update'))],
    ['delete', () => store.delete(key)],
    ['listSessions', () => store.listSessions?.('u1') ?? Promise.reject(new Error('none'))],
    [
      'deleteUserSessions',
      () => store.deleteUserSessions?.('u1') ?? Promise.reject(new Error('none')),
    ],
    ['exists', () => store.exists(key)],
    ['clearExpired', () => store.clearExpired()],
    ['migrate', () => store.migrate()],
  ];
  for (const [method, call] of calls) {
    await assert.rejects(
      call(),
      (error: Error) =>
        error instanceof StoreError &&
        error.message.startsWith(`keepstate: ${name} could not `) &&
        error.cause !== undefined,
      method,
    );
  }
}
