/**
 * `npx tsx examples/django-interop/server.ts`: the Node half of the example, on port 8001 (or
 * `PORT`), beside `python manage.py runserver 8000`. Both read `SECRET_KEY`,
 * `SECRET_KEY_FALLBACKS` and `SHARED_DATABASE` from the environment.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { createNodeServer } from './create-node-server.js';

const secret = process.env.SECRET_KEY;
if (!secret) {
  console.error("Set SECRET_KEY to the Django site's SECRET_KEY (at least 32 characters).");
  process.exit(2);
}
const database =
  process.env.SHARED_DATABASE ?? fileURLToPath(new URL('./shared.sqlite3', import.meta.url));
const port = Number(process.env.PORT ?? 8001);
const fallbackSecrets = (process.env.SECRET_KEY_FALLBACKS ?? '').split(',').filter(Boolean);

createNodeServer({ secret, fallbackSecrets, database }).listen(port, '127.0.0.1', () => {
  console.log(`Node service on http://127.0.0.1:${port}/api/me (sessions in ${database})`);
});
