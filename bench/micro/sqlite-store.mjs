// Micro-benchmark of SqliteStore's request path: load, save and update, called in a loop on a
// WAL database on disk, through a store a SessionManager attached (Django's codec, the real
// clock). Prints µs per operation, median of the repetitions.
//
//   node --import tsx bench/micro/sqlite-store.mjs [options]
//
//   --ops N          operations per timed loop (default 20000; writes use N/4)
//   --reps N         repetitions of each loop (default 7)
//   --sessions N     sessions seeded in the table (default 1000)
//   --sync MODE      PRAGMA synchronous for the run: FULL (SQLite's default), NORMAL or OFF;
//                    may be a comma list (FULL,NORMAL) to compare in one process
//   --only LIST      comma list of load,save,update (default all three)
//   --store PATH     a second SqliteStore module to A/B against src/ (e.g. a copy of the old
//                    one); the two are interleaved repetition by repetition in this process
//   --dir PATH       folder for the database files (default the system's temp folder)
//
// Runs on the TypeScript sources (tsx), not dist/, so it measures the working tree. Add
// `--cpu-prof --cpu-prof-dir=bench/profiles` before `--import` to profile it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '7' },
    sessions: { type: 'string', default: '1000' },
    sync: { type: 'string', default: 'FULL' },
    only: { type: 'string', default: 'load,save,update' },
    store: { type: 'string' },
    dir: { type: 'string' },
  },
});
const OPS = Number(args.ops);
const REPS = Number(args.reps);
const SESSIONS = Number(args.sessions);
const SYNCS = args.sync.split(',').map((mode) => mode.trim().toUpperCase());
const ONLY = new Set(args.only.split(','));

const { SessionManager } = await import('../../src/core/session-manager.ts');
const variants = [['src', (await import('../../src/stores/sql/sqlite-store.ts')).SqliteStore]];
if (args.store !== undefined) {
  variants.unshift(['alt', (await import(resolve(args.store))).SqliteStore]);
}

const dir = mkdtempSync(join(args.dir ?? tmpdir(), 'keepstate-micro-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const keyOf = (i) => `k${String(i).padStart(31, '0')}`;
const DAY = 86_400_000;

/** A migrated, attached store on a fresh file, with SESSIONS sessions. */
async function setUp(name, Store, sync) {
  const db = new Database(join(dir, `${name}-${sync}.sqlite3`));
  const store = new Store(db); // WAL by default
  db.pragma(`synchronous = ${sync}`);
  await store.migrate();
  new SessionManager({ store, secret: 'micro-bench-secret-0123456789-abcdefghij' });
  for (let i = 0; i < SESSIONS; i++) {
    await store.create({ sessionKey: keyOf(i), data: { count: 0 }, expiresAt: future() });
  }
  return { db, store };
}

function future() {
  return new Date(Date.now() + 14 * DAY);
}

const loops = {
  async load(store, n) {
    for (let i = 0; i < n; i++) {
      const record = await store.load(keyOf(i % SESSIONS));
      if (record === null) throw new Error('lost a session');
    }
  },
  async save(store, n) {
    for (let i = 0; i < n; i++) {
      await store.save({
        sessionKey: keyOf(i % SESSIONS),
        data: { count: i },
        expiresAt: future(),
      });
    }
  },
  async update(store, n) {
    for (let i = 0; i < n; i++) {
      await store.update(keyOf(i % SESSIONS), (latest) => ({
        sessionKey: keyOf(i % SESSIONS),
        data: { ...latest, count: i },
        expiresAt: future(),
      }));
    }
  },
};

async function time(fn, store, n) {
  const start = process.hrtime.bigint();
  await fn(store, n);
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const results = [];
for (const sync of SYNCS) {
  const stores = [];
  for (const [name, Store] of variants) stores.push([name, (await setUp(name, Store, sync)).store]);
  for (const op of Object.keys(loops)) {
    if (!ONLY.has(op)) continue;
    const n = op === 'load' ? OPS : Math.max(1, OPS >> 2);
    for (const [, store] of stores) await time(loops[op], store, Math.min(n, 2000)); // warm-up
    const samples = new Map(stores.map(([name]) => [name, []]));
    for (let r = 0; r < REPS; r++) {
      for (const [name, store] of stores) samples.get(name).push(await time(loops[op], store, n));
    }
    for (const [name, xs] of samples) {
      results.push({
        sync,
        op,
        store: name,
        'µs/op (median)': Number(median(xs).toFixed(2)),
        min: Number(Math.min(...xs).toFixed(2)),
        max: Number(Math.max(...xs).toFixed(2)),
      });
    }
  }
}
console.table(results);
