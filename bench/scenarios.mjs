// The scenario list: one line per scenario, the peers (copied from ../shared/bench) first, then
// keepstate's. To add one, write a server under servers/ that follows the contract in
// servers/_common.mjs, then add a line here.
//   name       what you pass on the command line
//   file       the server, relative to this folder
//   group      'base' (no sessions), 'peer' or 'keepstate': the chart colours bars by it
//   baseline   no session contract: the runner checks 200s and sends dummy cookies
//   untouched  like baseline, but the dummy cookie is a well-formed keepstate session cookie and
//              GET /store-calls must answer 0 after the checks
//   redis      needs the bench's Redis (REDIS_URL), which the runner flushes before each run
//   postgres   needs PostgreSQL (BENCH_POSTGRES_URL); the server makes and drops its own table
//   workloads  only these workloads (default all)
//   pkgs       npm packages whose installed versions go into the report
export const scenarios = [
  {
    name: 'baseline-http',
    group: 'base',
    file: 'servers/baseline-http.mjs',
    baseline: true,
    pkgs: [],
  },
  {
    name: 'baseline-express',
    group: 'base',
    file: 'servers/baseline-express.mjs',
    baseline: true,
    pkgs: ['express'],
  },
  {
    name: 'baseline-fastify',
    group: 'base',
    file: 'servers/baseline-fastify.mjs',
    baseline: true,
    pkgs: ['fastify'],
  },
  {
    name: 'express-session-memory',
    group: 'peer',
    file: 'servers/express-session-memory.mjs',
    pkgs: ['express', 'express-session'],
  },
  {
    name: 'express-session-redis',
    group: 'peer',
    file: 'servers/express-session-redis.mjs',
    redis: true,
    pkgs: ['express', 'express-session', 'connect-redis', 'redis'],
  },
  {
    name: 'fastify-session-memory',
    group: 'peer',
    file: 'servers/fastify-session-memory.mjs',
    pkgs: ['fastify', '@fastify/session', '@fastify/cookie'],
  },
  {
    name: 'fastify-session-redis',
    group: 'peer',
    file: 'servers/fastify-session-redis.mjs',
    redis: true,
    pkgs: ['fastify', '@fastify/session', '@fastify/cookie', 'connect-redis', 'redis'],
  },
  {
    name: 'iron-session-http',
    group: 'peer',
    file: 'servers/iron-session-http.mjs',
    pkgs: ['iron-session'],
  },
  {
    name: 'cookie-session-express',
    group: 'peer',
    file: 'servers/cookie-session-express.mjs',
    pkgs: ['express', 'cookie-session'],
  },
  { name: 'minimal-http', group: 'peer', file: 'servers/minimal-http.mjs', pkgs: [] },
  {
    name: 'ks-untouched-http',
    group: 'keepstate',
    file: 'servers/ks-untouched-http.mjs',
    untouched: true,
    workloads: ['R'],
    pkgs: [],
  },
  { name: 'ks-memory-http', group: 'keepstate', file: 'servers/ks-memory-http.mjs', pkgs: [] },
  { name: 'ks-cookie-http', group: 'keepstate', file: 'servers/ks-cookie-http.mjs', pkgs: [] },
  {
    name: 'ks-redis-http',
    group: 'keepstate',
    file: 'servers/ks-redis-http.mjs',
    redis: true,
    pkgs: ['ioredis'],
  },
  {
    name: 'ks-sqlite-http',
    group: 'keepstate',
    file: 'servers/ks-sqlite-http.mjs',
    pkgs: ['better-sqlite3'],
  },
  {
    name: 'ks-postgres-http',
    group: 'keepstate',
    file: 'servers/ks-postgres-http.mjs',
    postgres: true,
    pkgs: ['pg'],
  },
  {
    name: 'ks-express-memory',
    group: 'keepstate',
    file: 'servers/ks-express-memory.mjs',
    pkgs: ['express'],
  },
  {
    name: 'ks-express-redis',
    group: 'keepstate',
    file: 'servers/ks-express-redis.mjs',
    redis: true,
    pkgs: ['express', 'ioredis'],
  },
  {
    name: 'ks-fastify-memory',
    group: 'keepstate',
    file: 'servers/ks-fastify-memory.mjs',
    pkgs: ['fastify', 'fastify-plugin'],
  },
  {
    name: 'ks-fastify-redis',
    group: 'keepstate',
    file: 'servers/ks-fastify-redis.mjs',
    redis: true,
    pkgs: ['fastify', 'fastify-plugin', 'ioredis'],
  },
];
