// Issue 8's targets, as floors on a ratio measured in one run: `of` / `to` for one workload.
// `to` defaults to baseline-http. Each is a floor, not a goal to stop at.
export const targets = [
  { of: 'ks-redis-http', workload: 'R', min: 0.5 },
  { of: 'ks-redis-http', workload: 'W', min: 0.4 },
  { of: 'ks-redis-http', workload: 'N', min: 0.5 },
  { of: 'ks-cookie-http', workload: 'R', min: 0.55 },
  { of: 'ks-cookie-http', workload: 'W', min: 0.45 },
  { of: 'ks-memory-http', workload: 'R', min: 0.6 },
  { of: 'ks-sqlite-http', workload: 'R', min: 0.4 },
  { of: 'ks-sqlite-http', workload: 'W', min: 0.2 },
  // "within 10% of the bare framework on R with the memory store"
  { of: 'ks-express-memory', to: 'baseline-express', workload: 'R', min: 0.9 },
  { of: 'ks-fastify-memory', to: 'baseline-fastify', workload: 'R', min: 0.9 },
  // "a request whose handler never touches the session costs ... less than 3% of throughput"
  { of: 'ks-untouched-http', workload: 'R', min: 0.97 },
];
