// keepstate on node:http with its SqliteStore: better-sqlite3, WAL, a fresh file on disk per start
// (in BENCH_DATA_DIR, default the system's temp folder), deleted on stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onStop } from './_common.mjs';
import { closeServer, keepstate, serveHttp } from './_keepstate.mjs';

const { default: Database } = await import('better-sqlite3');
const { SqliteStore } = await keepstate('stores/sql/sqlite-store.js');

const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'keepstate-bench-'));
const db = new Database(join(dir, 'sessions.sqlite3'));
const store = new SqliteStore(db); // the store's defaults: WAL, synchronous = NORMAL
await store.migrate();
const server = await serveHttp('ks-sqlite-http', store);
onStop(async () => {
  await closeServer(server);
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
