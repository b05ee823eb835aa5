// keepstate on node:http with its PostgresStore on a pg.Pool (10 connections, pg's default), in a
// table of the bench's own that is created at start and dropped at stop.
import { onStop, POSTGRES_URL } from './_common.mjs';
import { closeServer, keepstate, serveHttp } from './_keepstate.mjs';

const { default: pg } = await import('pg');
const { PostgresStore } = await keepstate('stores/sql/postgres-store.js');

const TABLE = 'keepstate_bench_session';
const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
await pool.query(`DROP TABLE IF EXISTS "${TABLE}"`);
const store = new PostgresStore(pool, { table: TABLE });
await store.migrate();
const server = await serveHttp('ks-postgres-http', store);
onStop(async () => {
  await closeServer(server);
  await pool.query(`DROP TABLE IF EXISTS "${TABLE}"`);
  await pool.end();
});
