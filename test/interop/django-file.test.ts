/**
 * Django's `file` engine and keepstate's `FileStore` on one folder: the round trips of
 * `engine-round-trips.ts`, for Django 5.2 and 3.2.
 */
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/stores/file-store.js';
import { type DjangoRelease, findDjango } from '../support/django.js';
import { type EngineHarness, engineRoundTrips } from './engine-round-trips.js';
import { tamper } from './values.js';

async function fileHarness(release: DjangoRelease): Promise<EngineHarness> {
  const folder = await mkdtemp(join(tmpdir(), `keepstate-django-${release}-file-`));
  return {
    engine: 'file',
    title: 'the file engine',
    settings: { session_file_path: folder },
    store: () => new FileStore({ path: folder }),
    async tamper(key) {
      // Django names the file SESSION_COOKIE_NAME + key; the mtime, which carries the expiry,
      // is kept.
      const file = join(folder, `sessionid${key}`);
      const { atime, mtime } = await stat(file);
      await writeFile(file, tamper(await readFile(file, 'ascii')));
      await utimes(file, atime, mtime);
      return key;
    },
    async cleanup() {
      await rm(folder, { recursive: true, force: true });
    },
  };
}

for (const release of ['5.2', '3.2'] as const) {
  engineRoundTrips(await fileHarness(release), release, await findDjango(release));
}
