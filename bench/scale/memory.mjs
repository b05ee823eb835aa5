// MemoryStore's footprint: heap bytes per session at 1,000,000 sessions, and its bound (the
// default maxSessions of 100,000) when 1,000,000 are created. Needs --expose-gc; scale.mjs runs
// it in a child process so the other parts' heaps do not count. Prints one JSON line.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { keyOf } from './keys.mjs';

const DIST = process.env.KEEPSTATE_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url));
const { MemoryStore, SessionManager } = await import(pathToFileURL(join(DIST, 'index.js')).href);
const N = Number(process.argv[2] ?? 1_000_000);

// What a logged-in Django session holds; plus the bench's own tiny one.
const LOGIN = {
  _auth_user_id: '42',
  _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
  _auth_user_hash: 'c2f8a4e5b6d7c8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3',
};

function heap() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

async function footprint(data, maxSessions) {
  const store = new MemoryStore(maxSessions === undefined ? {} : { maxSessions });
  new SessionManager({ secret: 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz', store });
  const expiresAt = new Date(Date.now() + 14 * 86_400_000);
  const before = heap();
  const t0 = process.hrtime.bigint();
  // The keys are made inside the loop: the store keeps them, so they count.
  for (let i = 0; i < N; i++) await store.create({ sessionKey: keyOf(i), data, expiresAt });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = heap();
  return {
    held: store.size,
    bytes: after - before,
    perSession: (after - before) / store.size,
    seconds,
  };
}

if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
const out = {
  n: N,
  tiny: await footprint({ count: 0 }, N),
  login: await footprint(LOGIN, N),
  bounded: await footprint(LOGIN, undefined),
  rss: process.memoryUsage().rss,
};
console.log(JSON.stringify(out));
