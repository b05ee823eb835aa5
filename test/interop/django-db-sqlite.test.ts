/**
 * Django's `db` engine and keepstate's `SqliteStore` on one SQLite file, with the table Django's
 * own `migrate` made: the round trips of `engine-round-trips.ts`, for Django 5.2 and 3.2.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';
import { type DjangoRelease, findDjango, runDjango } from '../support/django.js';
import { type EngineHarness, engineRoundTrips } from './engine-round-trips.js';
import { tamper } from './values.js';

async function sqliteHarness(release: DjangoRelease): Promise<EngineHarness> {
  const folder = await mkdtemp(join(tmpdir(), `keepstate-django-${release}-db-`));
  const file = join(folder, 'sessions.sqlite3');
  let database: Database.Database | undefined;
  const open = () => {
    database ??= new Database(file, { timeout: 5_000 });
    return database;
  };
  return {
    engine: 'db',
    title: 'the db engine on SQLite',
    settings: { database: { engine: 'sqlite', name: file } },
    async prepare(peer, defaults) {
      await runDjango(peer, { ...defaults, ops: [{ op: 'migrate', apps: ['sessions'] }] });
    },
    store: () => new SqliteStore(open()),
    async tamper(key) {
      const row = open()
        .prepare('SELECT session_data FROM django_session WHERE session_key = ?')
        .get(key) as { session_data: string };
      open()
        .prepare('UPDATE django_session SET session_data = ? WHERE session_key = ?')
        .run(tamper(row.session_data), key);
      return key;
    },
    async cleanup() {
      database?.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

for (const release of ['5.2', '3.2'] as const) {
  engineRoundTrips(await sqliteHarness(release), release, await findDjango(release));
}
