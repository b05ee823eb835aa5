/**
 * Django's `db` engine and keepstate's `PostgresStore` on one PostgreSQL database, in a schema of
 * this run's own (Django's table name, `django_session`, is fixed), with the table Django's
 * `migrate` made: the round trips of `engine-round-trips.ts`, for Django 5.2 and 3.2.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from '../../src/stores/sql/postgres-store.js';
import {
  type DjangoAvailability,
  type DjangoRelease,
  findDjango,
  runDjango,
  withModules,
} from '../support/django.js';
import { needService } from '../support/services.js';
import { type EngineHarness, engineRoundTrips } from './engine-round-trips.js';
import { tamper } from './values.js';

const POSTGRES_URL =
  process.env.KEEPSTATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const url = new URL(POSTGRES_URL);

const unavailable = await needService(
  `PostgreSQL at ${url.host}`,
  async () => {
    const probe = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
    await probe.connect();
    await probe.end();
  },
  'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set KEEPSTATE_TEST_POSTGRES_URL',
);

function postgresHarness(release: DjangoRelease): EngineHarness {
  const schema = `keepstate_django_${release.replace('.', '')}_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({
    connectionString: POSTGRES_URL,
    connectionTimeoutMillis: 5_000,
    options: `-c search_path=${schema}`,
    max: 2,
  });
  pool.on('error', () => {}); // an idle client's error must not crash the test process
  return {
    engine: 'db',
    title: 'the db engine on PostgreSQL',
    settings: {
      database: {
        engine: 'postgresql',
        host: url.hostname,
        port: Number(url.port || 5432),
        user: decodeURIComponent(url.username || 'postgres'),
        name: url.pathname.slice(1) || 'test',
        schema,
      },
    },
    async prepare(peer, defaults) {
      await pool.query(`CREATE SCHEMA "${schema}"`);
      await runDjango(peer, { ...defaults, ops: [{ op: 'migrate', apps: ['sessions'] }] });
    },
    store: () => new PostgresStore(pool),
    async tamper(key) {
      const { rows } = await pool.query(
        'SELECT session_data FROM django_session WHERE session_key = $1',
        [key],
      );
      const data = (rows[0] as { session_data: string }).session_data;
      await pool.query('UPDATE django_session SET session_data = $1 WHERE session_key = $2', [
        tamper(data),
        key,
      ]);
      return key;
    },
    async cleanup() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

for (const release of ['5.2', '3.2'] as const) {
  const django: DjangoAvailability = unavailable
    ? { reason: unavailable }
    : withModules(await findDjango(release), ['psycopg']);
  engineRoundTrips(postgresHarness(release), release, django);
}
