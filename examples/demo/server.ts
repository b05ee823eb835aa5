/**
 * `npm start`: the demo site, configured from the environment.
 *
 * - `PORT`, `HOST`: where to listen (default 127.0.0.1:8000)
 * - `KEEPSTATE_STORE`: any store URL `storeFromUrl` takes (default sqlite:./demo-sessions.sqlite3)
 * - `KEEPSTATE_SECRET`: at least 32 characters (default: random per start, with a warning)
 * - `KEEPSTATE_DEMO_TEST_HOOKS=1`: a movable clock and `POST /__test__/advance?seconds=N`
 *
 * @module
 */
import { StoreError } from '../../src/core/errors.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import { DEFAULT_STORE_URL, startDemo } from './start-demo.js';

const env = process.env;
const port = Number(env.PORT || 8000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`keepstate demo: PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  process.exit(2);
}
const storeUrl = env.KEEPSTATE_STORE || DEFAULT_STORE_URL;
const testHooks = env.KEEPSTATE_DEMO_TEST_HOOKS === '1';

try {
  const demo = await startDemo({
    port,
    host: env.HOST || '127.0.0.1',
    store: storeUrl,
    ...(env.KEEPSTATE_SECRET && { secret: env.KEEPSTATE_SECRET }),
    testHooks,
  });
  // A store URL may carry a password: never print it.
  const shownStore = storeUrl.replace(/\/\/([^:@/]*):[^@/]*@/g, '//$1:***@');
  console.log(`keepstate demo: ${demo.url} (store ${shownStore}); Ctrl+C stops it`);
  if (testHooks)
    console.warn('keepstate demo: test hooks on: POST /__test__/advance moves the clock');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      demo.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('keepstate demo: closing failed', error);
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  if (!(error instanceof ImproperlyConfigured || error instanceof StoreError)) throw error;
  console.error(`${error.message}\n(The demo reads KEEPSTATE_STORE and KEEPSTATE_SECRET.)`);
  process.exit(1);
}
