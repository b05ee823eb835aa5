// Shared settings for every scenario server. A server file is a tiny program that
//   - listens on HOST:PORT (127.0.0.1 and the PORT the runner passes in the environment),
//   - answers GET /health with 200 once it is ready,
//   - answers the three workload routes below, with a small text/plain body:
//       GET /read   the request carries a session cookie; read `count`, change nothing.
//                   Answer 200 "count=<n>", or 409 when the session has no `count`.
//       GET /write  the request carries a session cookie; count += 1, save the session.
//                   Answer 200 "count=<n>", or 409 when the session has no `count`.
//       GET /new    no cookie; set count = 0 (a new session), save it, answer 200 "count=0".
// The runner checks this contract before it measures (see lib/server.mjs, checkScenario).
// Copied from ../shared/bench (the peers' harness); keepstate's servers are the ks-*.mjs files.

export const HOST = '127.0.0.1';
export const PORT = Number(process.env.PORT ?? 4567);
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6391';
export const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// One secret for every library (>= 32 chars: @fastify/session and iron-session require it).
export const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
// Django's default SESSION_COOKIE_AGE: two weeks.
export const MAX_AGE_S = 14 * 24 * 3600;
export const MAX_AGE_MS = MAX_AGE_S * 1000;

export const NO_SESSION = 'no session';

/** Log readiness the same way in every server. */
export function ready(name) {
  console.log(`${name} listening on http://${HOST}:${PORT} (pid ${process.pid})`);
}

/** Stop cleanly when the runner sends SIGTERM / SIGINT. */
export function onStop(fn) {
  const stop = async () => {
    try {
      await fn?.();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
