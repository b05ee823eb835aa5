#!/usr/bin/env node
// The scale bench (issue 8, part 3): how store costs grow with the number of stored sessions.
//   - load and save latency with 1,000 and then 1,000,000 sessions in SQLite, PostgreSQL, Redis;
//   - clearExpired on 1,000,000 expired rows in SQLite and PostgreSQL: time, peak memory, and
//     the latency of a read loop running beside it;
//   - MemoryStore's bytes per session, and its bound under 1,000,000 sessions.
// Prints markdown. Needs `npm run build` first, the bench Redis (sh bench/redis.sh start) and
// PostgreSQL (BENCH_POSTGRES_URL); a part whose server is missing is skipped.
//
//   node bench/scale.mjs [--big 1000000] [--samples 2000] [--parts latency,clear,memory]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { keyOf, sampleIndexes } from './scale/keys.mjs';
import { fmtUs, loopUntil, stats, timeEach } from './scale/latency.mjs';
import { LIVE_MS, postgres, redis, sqlite } from './scale/stores.mjs';

const { values } = parseArgs({
  options: {
    big: { type: 'string', default: '1000000' },
    small: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '2000' },
    parts: { type: 'string', default: 'latency,clear,memory' },
  },
});
const BIG = Number(values.big);
const SMALL = Number(values.small);
const SAMPLES = Number(values.samples);
const PARTS = new Set(values.parts.split(','));
const log = (m) => process.stderr.write(`${m}\n`);
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function open(make) {
  try {
    return await make();
  } catch (err) {
    log(`skipped: ${err.message}`);
    return null;
  }
}

/** Sequential load and save latency over `SAMPLES` keys spread over the first `n` sessions. */
async function latencyAt(s, n) {
  const keys = sampleIndexes(n, SAMPLES).map(keyOf);
  await timeEach(200, (i) => s.store.load(keys[i % keys.length])); // warm-up
  const loads = await timeEach(keys.length, async (i) => {
    if ((await s.store.load(keys[i])) === null) throw new Error(`${s.name}: session ${i} missing`);
  });
  const expiresAt = () => new Date(Date.now() + LIVE_MS);
  const saves = await timeEach(keys.length, (i) =>
    s.store.save({ sessionKey: keys[i], data: { count: 1 }, expiresAt: expiresAt() }),
  );
  return { load: stats(loads), save: stats(saves), size: await s.size() };
}

async function latencyPart() {
  const L = ['#### Load and save latency against the number of stored sessions', ''];
  L.push(
    `One operation at a time from one process, ${SAMPLES} keys spread over all stored sessions; each store through keepstate (Django's encoding included).`,
  );
  L.push('');
  L.push('| store | sessions | load p50 | load p99 | save p50 | save p99 | size |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const make of [sqlite, postgres, redis]) {
    const s = await open(make);
    if (!s) continue;
    try {
      for (const [from, to] of [
        [0, SMALL],
        [SMALL, BIG],
      ]) {
        const t0 = Date.now();
        await s.fill(from, to);
        log(
          `${s.name}: ${to.toLocaleString('en-US')} sessions stored (${((Date.now() - t0) / 1000).toFixed(1)} s to add ${(to - from).toLocaleString('en-US')})`,
        );
        const r = await latencyAt(s, to);
        L.push(
          `| ${s.name} | ${to.toLocaleString('en-US')} | ${fmtUs(r.load.p50)} | ${fmtUs(r.load.p99)} | ${fmtUs(r.save.p50)} | ${fmtUs(r.save.p99)} | ${r.size} |`,
        );
      }
    } finally {
      await s.close();
    }
  }
  return L.join('\n');
}

/** clearExpired on BIG expired rows, with a read loop on SMALL live ones running beside it. */
async function clearOne(s) {
  await s.fill(0, BIG, { expired: true });
  await s.fill(BIG, BIG + SMALL);
  const live = Array.from({ length: SMALL }, (_, i) => keyOf(BIG + i));
  let k = 0;
  const read = async () => {
    if ((await s.store.load(live[k++ % live.length])) === null)
      throw new Error('live session lost');
  };
  for (let i = 0; i < 500; i++) await read(); // warm-up, so the first calls' compilation is not counted
  let stop = false;
  setTimeout(() => {
    stop = true;
  }, 2000);
  const before = stats(await loopUntil(() => stop, read));
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  let done = false;
  const during = loopUntil(() => done, read);
  const t0 = process.hrtime.bigint();
  const deleted = await s.store.clearExpired();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  done = true;
  const reads = stats(await during);
  clearInterval(sampler);
  if (deleted !== BIG)
    throw new Error(`${s.name}: clearExpired deleted ${deleted}, expected ${BIG}`);
  return { seconds, deleted, before, reads, rssGrowth: peak - rss0, rss0 };
}

async function clearPart() {
  const L = [`#### clearExpired on ${BIG.toLocaleString('en-US')} expired rows`, ''];
  L.push(
    `${BIG.toLocaleString('en-US')} expired and ${SMALL.toLocaleString('en-US')} live sessions; \`clearExpired()\` runs in the same process as a loop that loads live sessions one after another; a read's latency is counted from when it was due (the end of the previous one), so a batch that holds the event loop shows in it. Peak memory is this process's RSS, sampled every 20 ms.`,
  );
  L.push('');
  L.push(
    '| store | time | rows/s | peak RSS growth | read p50 / p99 / max before | read p50 / p99 / max during | reads during |',
  );
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const make of [sqlite, postgres]) {
    const s = await open(make);
    if (!s) continue;
    try {
      log(`${s.name}: clearExpired on ${BIG.toLocaleString('en-US')} expired rows`);
      const r = await clearOne(s);
      const trio = (x) => `${fmtUs(x.p50)} / ${fmtUs(x.p99)} / ${fmtUs(x.max)}`;
      L.push(
        `| ${s.name} | ${r.seconds.toFixed(1)} s | ${Math.round(r.deleted / r.seconds).toLocaleString('en-US')} | ${mib(r.rssGrowth)} (from ${mib(r.rss0)}) | ${trio(r.before)} | ${trio(r.reads)} | ${r.reads.n.toLocaleString('en-US')} |`,
      );
    } finally {
      await s.close();
    }
  }
  return L.join('\n');
}

function memoryPart() {
  const file = fileURLToPath(new URL('./scale/memory.mjs', import.meta.url));
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=4096', file, String(BIG)],
    {
      encoding: 'utf8',
      env: process.env,
    },
  );
  if (r.status !== 0) throw new Error(`memory part failed:\n${r.stderr}`);
  const m = JSON.parse(r.stdout.trim().split('\n').pop());
  const L = ['#### MemoryStore footprint', ''];
  L.push(
    'Heap growth after a full GC, divided by the sessions held; keys (32 characters) and JSON text included.',
  );
  L.push('');
  L.push('| data | maxSessions | created | held | heap | bytes per session | create time |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const row = (what, max, x) =>
    `| ${what} | ${max} | ${m.n.toLocaleString('en-US')} | ${x.held.toLocaleString('en-US')} | ${mib(x.bytes)} | ${Math.round(x.perSession)} | ${x.seconds.toFixed(1)} s |`;
  L.push(row('`{ count: 0 }`', m.n.toLocaleString('en-US'), m.tiny));
  L.push(row('a Django login (3 keys, 172 B of JSON)', m.n.toLocaleString('en-US'), m.login));
  L.push(row('a Django login', '100,000 (default)', m.bounded));
  return L.join('\n');
}

const out = [`### keepstate scale bench, ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`, ''];
if (PARTS.has('latency')) out.push(await latencyPart(), '');
if (PARTS.has('clear')) out.push(await clearPart(), '');
if (PARTS.has('memory')) out.push(memoryPart(), '');
console.log(out.join('\n'));
