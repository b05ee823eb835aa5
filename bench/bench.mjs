#!/usr/bin/env node
// The benchmark runner (adapted from ../shared/bench/bench.mjs):
//
//   node bench/bench.mjs [scenario ...] [--quick] [-w R,W,N] [-r 2] [-d 5] [...]
//
// For every (round, scenario, workload) it starts a fresh server from scenarios.mjs pinned to
// one CPU, checks the server contract, pre-creates a pool of sessions through the server's own
// /new route, warms it up, then drives it with wrk (pinned to the other CPU) for a fixed time.
// Rounds are interleaved so that slow drift of a shared machine spreads over all scenarios.
// Traffic only ever goes to 127.0.0.1; every load run is bounded in time and connections.
// Progress goes to stderr; the markdown report to stdout and results/, the chart to --svg.
// `npm run bench` (run.mjs) builds keepstate and starts the bench's Redis first.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  busySeconds,
  commSeconds,
  cpuDelta,
  readCpuTimes,
  readProcCpuSeconds,
  selfSeconds,
  TRAFFIC_IRQ_US,
  taskSeconds,
  waitForQuiet,
} from './lib/cpu.mjs';
import { probeTcp, redisCommand, redisSeconds } from './lib/net.mjs';
import { BASELINE, fmtInt, fmtMs, renderMarkdown, summarize, workloadsOf } from './lib/report.mjs';
import {
  assertPortFree,
  checkScenario,
  expect,
  seedSessions,
  startServer,
  stopServer,
} from './lib/server.mjs';
import { renderSvg } from './lib/svg.mjs';
import { runWrk, WORKLOADS } from './lib/wrk.mjs';
import { scenarios as ALL } from './scenarios.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const log = (msg) => process.stderr.write(`${msg}\n`);

// Full mode is sized so that the whole matrix ends in about 20 minutes on a quiet 2-core
// machine; quick mode is for development and gives one short run per cell. On a busy machine
// waiting for quiet and repeating noisy runs could go on for hours, so both draw on a budget of
// seconds (noiseBudget); once it is spent, runs are measured at once and kept, marked ~.
const MODES = {
  full: { runs: 2, duration: 5, warmup: 2, retries: 2, quietWait: 60, noiseBudget: 240 },
  quick: { runs: 1, duration: 3, warmup: 1, retries: 1, quietWait: 20, noiseBudget: 60 },
};

const USAGE = `usage: node bench/bench.mjs [scenario ...] [options]

Scenarios: names from scenarios.mjs (default: all). A name that matches no scenario exactly
selects every scenario whose name contains it (e.g. "redis", "ks-"). ${BASELINE} is added unless
--no-baseline, because ratios are only meaningful within one run.

Options:
      --quick             ${MODES.quick.runs} run of ${MODES.quick.duration} s per cell after ${MODES.quick.warmup} s of warm-up (default: ${MODES.full.runs} runs of ${MODES.full.duration} s after ${MODES.full.warmup} s)
  -w, --workloads R,W,N   workloads to run (default R,W,N)
  -r, --runs N            measured runs per scenario x workload (the report shows medians)
  -d, --duration S        seconds per measured run (max 60)
      --warmup S          seconds of discarded load before each measured run
  -c, --connections N     concurrent keep-alive connections (default 50, max 1000)
      --threads N         wrk threads (default 1)
      --sessions N        pre-created sessions whose cookies R and W cycle through (default 1000)
      --port N            loopback port for the server under test (default 4577)
      --server-cpu N      CPU the server is pinned to (default 1)
      --load-cpu N        CPU wrk is pinned to (default 0)
      --no-pin            do not use taskset
      --no-baseline       do not add ${BASELINE} automatically
      --max-foreign X     cores that may go to anything else during a run before it is discarded
                          and repeated (default 0.05)
      --retries N         how often a noisy run is repeated (then the quietest is kept, marked ~)
      --quiet-wait S      before each run, wait up to S seconds for the machine to go quiet
      --noise-budget S    seconds that waiting for quiet and repeating noisy runs may add in all
      --cpu-prof DIR      run every server under node --cpu-prof, profiles to DIR/<scenario>-<workload>.cpuprofile
      --compare DIST      also run every keepstate scenario as <name>@ref on the build in DIST (a
                          copy of dist/ from before a change), interleaved, for an A/B in one run
      --svg FILE          where the chart goes (default results/<time>.svg)
      --out DIR           where the .md and .json reports go (default bench/results/)
      --list              list scenarios and exit
  -h, --help              this text

Environment: REDIS_URL (default redis://127.0.0.1:6391, the bench's own Redis: sh bench/redis.sh
start; it is FLUSHed before each run of a Redis scenario, so never point it at data you keep),
BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test; the PostgreSQL scenario
creates and drops the table keepstate_bench_session), KEEPSTATE_DIST (default dist/).`;

function parseCli(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      workloads: { type: 'string', short: 'w', default: 'R,W,N' },
      runs: { type: 'string', short: 'r' },
      duration: { type: 'string', short: 'd' },
      warmup: { type: 'string' },
      connections: { type: 'string', short: 'c', default: '50' },
      threads: { type: 'string', default: '1' },
      sessions: { type: 'string', default: '1000' },
      port: { type: 'string', default: '4577' },
      'server-cpu': { type: 'string', default: '1' },
      'load-cpu': { type: 'string', default: '0' },
      'no-pin': { type: 'boolean', default: false },
      'no-baseline': { type: 'boolean', default: false },
      'max-foreign': { type: 'string', default: '0.05' },
      retries: { type: 'string' },
      'quiet-wait': { type: 'string' },
      'noise-budget': { type: 'string' },
      'cpu-prof': { type: 'string' },
      compare: { type: 'string' },
      svg: { type: 'string' },
      out: { type: 'string', default: join(HERE, 'results') },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const mode = MODES[values.quick ? 'quick' : 'full'];
  const int = (name, min, max, fallback) => {
    const n = Number(values[name] ?? fallback);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
    }
    return n;
  };
  const workloads = values.workloads
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  for (const w of workloads)
    if (!WORKLOADS[w]) throw new Error(`unknown workload ${w} (use R, W, N)`);
  const opts = {
    root: HERE,
    quick: values.quick,
    workloads,
    runs: int('runs', 1, 20, mode.runs),
    duration: int('duration', 1, 60, mode.duration),
    warmup: int('warmup', 0, 30, mode.warmup),
    connections: int('connections', 1, 1000),
    threads: int('threads', 1, 8),
    sessions: int('sessions', 1, 100000),
    port: int('port', 1024, 65535),
    serverCpu: values['server-cpu'],
    loadCpu: values['load-cpu'],
    pin: !values['no-pin'],
    addBaseline: !values['no-baseline'],
    maxForeign: Number(values['max-foreign']),
    retries: int('retries', 0, 10, mode.retries),
    quietWait: int('quiet-wait', 0, 3600, mode.quietWait),
    noiseBudget: int('noise-budget', 0, 36000, mode.noiseBudget),
    cpuProf: values['cpu-prof'] ? resolve(values['cpu-prof']) : null,
    svg: values.svg ? resolve(values.svg) : null,
    out: resolve(values.out),
    list: values.list,
    help: values.help,
  };
  if (opts.threads > opts.connections) throw new Error('--threads must not exceed --connections');
  if (!(opts.maxForeign > 0 && opts.maxForeign <= 2)) {
    throw new Error('--max-foreign must be a number of cores in (0, 2]');
  }
  opts.scenarios = selectScenarios(positionals, opts.addBaseline);
  if (values.compare) opts.scenarios = withReference(opts.scenarios, resolve(values.compare));
  return opts;
}

function selectScenarios(names, addBaseline) {
  let picked = [];
  if (names.length === 0 || names.includes('all')) picked = [...ALL];
  else {
    for (const name of names) {
      const exact = ALL.filter((s) => s.name === name);
      const matches = exact.length ? exact : ALL.filter((s) => s.name.includes(name));
      if (!matches.length) throw new Error(`no scenario matches "${name}" (see --list)`);
      for (const s of matches) if (!picked.includes(s)) picked.push(s);
    }
  }
  const base = ALL.find((s) => s.name === BASELINE);
  if (addBaseline && base && !picked.includes(base)) picked.unshift(base);
  // Keep the scenario file's order, so reports and charts always read the same way.
  return ALL.filter((s) => picked.includes(s));
}

/**
 * Each keepstate scenario twice: as built in dist/, then as `<name>@ref`, loading keepstate from
 * `dist` (another build, e.g. a copy of dist/ taken before a change). Rounds interleave them, so
 * the two builds are compared within one run, on the same machine state.
 */
function withReference(picked, dist) {
  if (!existsSync(join(dist, 'index.js'))) throw new Error(`--compare: ${dist}/index.js not found`);
  return picked.flatMap((s) =>
    s.group === 'keepstate'
      ? [s, { ...s, name: `${s.name}@ref`, env: { ...s.env, KEEPSTATE_DIST: dist } }]
      : [s],
  );
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** CPU seconds of the store's server (the bench's Redis, or every PostgreSQL process). */
function storeSeconds(scn, ctx) {
  if (scn.redis) return redisSeconds(ctx.redisUrl);
  if (scn.postgres) return commSeconds('postgres');
  return 0;
}

async function measureOne(scn, workload, opts, ctx) {
  if (scn.redis) await redisCommand(ctx.redisUrl, 'FLUSHDB');
  const profile = opts.cpuProf && { dir: opts.cpuProf, name: `${scn.name}-${workload}.cpuprofile` };
  const srv = await startServer(scn, opts, ctx.env, profile);
  try {
    await checkScenario(scn, opts.port);
    const cookies = await seedSessions(scn, opts.port, opts.sessions);
    const cookieFile = join(ctx.tmp, `cookies-${scn.name}.txt`);
    writeFileSync(cookieFile, `${cookies.join('\n')}\n`);
    const maxWait = Math.max(0, Math.min(opts.quietWait, Math.floor(ctx.noiseLeft)));
    const w0 = Date.now();
    const waited = await waitForQuiet(opts.maxForeign, maxWait, log);
    // the first 1 s window is the check itself, not waiting
    ctx.noiseLeft -= Math.max(0, (Date.now() - w0) / 1000 - 1);
    if (waited < 0) log(`  still busy after ${maxWait} s; measuring anyway`);
    if (opts.warmup > 0) await runWrk(opts, workload, cookieFile, opts.warmup, ctx.tmp);
    const storeA = await storeSeconds(scn, ctx);
    const cpuA = readCpuTimes();
    const srvA = readProcCpuSeconds(srv.child.pid);
    const selfA = selfSeconds();
    const t0 = process.hrtime.bigint();
    const w = await runWrk(opts, workload, cookieFile, opts.duration, ctx.tmp);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const srvB = readProcCpuSeconds(srv.child.pid);
    const selfB = selfSeconds();
    const cpuB = readCpuTimes();
    const storeB = await storeSeconds(scn, ctx);
    expect(srv.alive(), `${scn.name} died under load:\n${srv.output().slice(-2000)}`);
    const server = srvB - srvA;
    const store = storeB - storeA;
    const ours = server + w.cpu_s + store + (selfB - selfA);
    const rps = w.requests / (w.duration_us / 1e6);
    // everything the CPUs did that our processes and our traffic do not explain
    const other =
      (busySeconds(cpuB) - busySeconds(cpuA) - ours) / wall - (TRAFFIC_IRQ_US * rps) / 1e6;
    const e = w.errors;
    return {
      scenario: scn.name,
      workload,
      rps,
      requests: w.requests,
      seconds: w.duration_us / 1e6,
      latency_us: w.latency_us,
      errors: e.connect + e.read + e.write + e.timeout,
      non2xx: e.status,
      server_cpu: server / wall,
      wrk_cpu: w.cpu_s / wall,
      store_cpu: store / wall,
      foreign_cpu: Math.max(0, other),
      other_processes_cpu: Math.max(0, (taskSeconds(cpuB) - taskSeconds(cpuA) - ours) / wall),
      quiet_wait_s: waited,
      cpu: cpuDelta(cpuA, cpuB),
    };
  } finally {
    await stopServer(srv);
  }
}

/** measureOne, repeated while something else used more than --max-foreign cores. */
async function measure(scn, workload, opts, ctx) {
  let best = null;
  const retries = opts.cpuProf ? 0 : opts.retries;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const t0 = Date.now();
    const r = await measureOne(scn, workload, opts, ctx);
    if (attempt > 0) ctx.noiseLeft -= (Date.now() - t0) / 1000;
    r.attempts = attempt + 1;
    if (!best || r.foreign_cpu < best.foreign_cpu) best = r;
    if (r.foreign_cpu <= opts.maxForeign) return { ...r, noisy: false };
    log(
      `  discarded: something else used ${r.foreign_cpu.toFixed(2)} cores during the run (${fmtInt(r.rps)} req/s); ${attempt < retries ? 'repeating' : 'keeping the quietest attempt'}`,
    );
  }
  return { ...best, attempts: retries + 1, noisy: true };
}

function version(dir, name) {
  try {
    return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'))
      .version;
  } catch {
    return null;
  }
}

// keepstate's drivers and fastify-plugin are loaded from the repo's node_modules (its dev
// dependencies), everything else from the bench's own.
const FROM_REPO = new Set(['ioredis', 'better-sqlite3', 'pg', 'fastify-plugin']);

/** A package's version as the servers load it. */
function pkgVersion(name) {
  const dirs = FROM_REPO.has(name) ? [join(HERE, '..'), HERE] : [HERE, join(HERE, '..')];
  return version(dirs[0], name) ?? version(dirs[1], name) ?? '?';
}

/** keepstate's version and the commit its build came from (`-dirty`: uncommitted changes too). */
function keepstateVersion() {
  if (process.env.KEEPSTATE_DIST) return `from ${process.env.KEEPSTATE_DIST}`;
  const { version } = JSON.parse(readFileSync(join(HERE, '..', 'package.json'), 'utf8'));
  const git = spawnSync('git', ['describe', '--always', '--dirty'], {
    cwd: HERE,
    encoding: 'utf8',
  });
  return git.status === 0 ? `${version} (${git.stdout.trim()})` : version;
}

async function preflight(opts, ctx) {
  for (const s of opts.scenarios.filter((x) => x.redis)) {
    try {
      const pong = await redisCommand(ctx.redisUrl, 'PING');
      if (pong !== '+PONG') throw new Error(`PING answered ${pong}`);
    } catch (err) {
      log(
        `Redis at ${ctx.redisUrl} is not answering (${err.message}); skipping ${s.name}. Start it with: sh bench/redis.sh start`,
      );
      opts.failures.set(s.name, 'Redis not running');
    }
  }
  for (const s of opts.scenarios.filter((x) => x.postgres)) {
    try {
      await probeTcp(ctx.env.BENCH_POSTGRES_URL, 5432);
    } catch (err) {
      log(
        `PostgreSQL at ${ctx.env.BENCH_POSTGRES_URL} is not answering (${err.message}); skipping ${s.name}`,
      );
      opts.failures.set(s.name, 'PostgreSQL not running');
    }
  }
}

async function runAll(opts, ctx) {
  const runs = [];
  const active = opts.scenarios.filter((s) => !opts.failures.has(s.name));
  const cells = active.reduce((a, s) => a + workloadsOf(s, opts).length, 0);
  const estimate = Math.round((cells * opts.runs * (opts.duration + opts.warmup + 3)) / 60);
  log(
    `${active.length} scenario(s), ${cells} cell(s) x ${opts.runs} run(s): about ${estimate} min on a quiet machine`,
  );
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupt: finishing the current run, then reporting');
  });
  for (let round = 1; round <= opts.runs && !interrupted; round++) {
    for (const scn of active) {
      for (const wl of workloadsOf(scn, opts)) {
        if (interrupted || opts.failures.has(scn.name)) break;
        try {
          const r = await measure(scn, wl, opts, ctx);
          r.round = round;
          runs.push(r);
          const warn =
            r.errors + r.non2xx ? `  ⚠ ${r.errors} socket errors, ${r.non2xx} non-2xx` : '';
          const store = scn.redis || scn.postgres ? ` store ${r.store_cpu.toFixed(2)}` : '';
          log(
            `[${round}/${opts.runs}] ${scn.name.padEnd(24)} ${wl}  ${fmtInt(r.rps).padStart(7)} req/s  p50 ${fmtMs(r.latency_us.p50)} ms  p99 ${fmtMs(r.latency_us.p99)} ms  cores: server ${r.server_cpu.toFixed(2)} wrk ${r.wrk_cpu.toFixed(2)}${store} other ${r.foreign_cpu.toFixed(2)}${r.noisy ? ' (noisy)' : ''}${warn}`,
          );
        } catch (err) {
          log(`[${round}/${opts.runs}] ${scn.name} ${wl}: FAILED ${err.message}`);
          opts.failures.set(scn.name, err.message);
        }
      }
    }
  }
  return runs;
}

async function main() {
  let opts;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    log(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) return console.log(USAGE);
  if (opts.list) {
    for (const s of ALL)
      console.log(
        `${s.name.padEnd(24)} ${s.group.padEnd(10)} ${s.file}${s.redis ? '  (Redis)' : ''}${s.postgres ? '  (PostgreSQL)' : ''}`,
      );
    return;
  }
  if (!has('wrk')) throw new Error('wrk not found: apt-get install -y wrk');
  if (opts.pin && !has('taskset')) throw new Error('taskset not found (util-linux); pass --no-pin');
  if (!existsSync(join(HERE, 'node_modules')))
    throw new Error('bench/node_modules missing: run npm ci in bench/ (npm run bench does)');
  if (!existsSync(join(HERE, '..', 'dist', 'index.js')) && !process.env.KEEPSTATE_DIST) {
    throw new Error('dist/ missing: npm run build first (npm run bench does)');
  }
  if (opts.pin) {
    for (const c of [opts.serverCpu, opts.loadCpu]) {
      if (!(Number(c) >= 0 && Number(c) < cpus().length))
        throw new Error(`CPU ${c} does not exist`);
    }
  }
  await assertPortFree(opts.port);
  if (opts.cpuProf) mkdirSync(opts.cpuProf, { recursive: true });
  const env = {
    REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6391',
    BENCH_POSTGRES_URL: process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test',
  };
  opts.failures = new Map();
  const ctx = {
    env,
    redisUrl: env.REDIS_URL,
    tmp: mkdtempSync(join(tmpdir(), 'keepstate-bench-')),
    noiseLeft: opts.noiseBudget,
    // read now: the tree may change while the run goes on, the build under test does not
    keepstate: keepstateVersion(),
  };
  await preflight(opts, ctx);
  const started = Date.now();
  let runs;
  try {
    runs = await runAll(opts, ctx);
  } finally {
    rmSync(ctx.tmp, { recursive: true, force: true });
  }

  const rows = summarize(runs, opts);
  const pkgs = [...new Set(opts.scenarios.flatMap((s) => s.pkgs || []))];
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: `${cpus()[0]?.model?.trim() || 'unknown CPU'}, ${cpus().length} CPUs`,
    wrk:
      `${spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout}`
        .split('\n')[0]
        .replace(/ Copyright.*$/, '')
        .trim() || 'wrk',
    keepstate: ctx.keepstate,
    versions: pkgs.map((p) => `${p} ${pkgVersion(p)}`),
    maxSteal: runs.length
      ? Math.max(...runs.flatMap((r) => Object.values(r.cpu).map((c) => c.steal)))
      : 0,
    maxForeign: runs.length ? Math.max(...runs.map((r) => r.foreign_cpu)) : 0,
    retried: runs.reduce((a, r) => a + r.attempts - 1, 0),
    noiseSpent: Math.round(opts.noiseBudget - ctx.noiseLeft),
  };
  const md = renderMarkdown(rows, opts, meta);
  console.log(md);
  mkdirSync(opts.out, { recursive: true });
  const stamp = meta.date.replace(/[:]/g, '-');
  writeFileSync(join(opts.out, `${stamp}.md`), `${md}\n`);
  const { failures, out, root, ...shown } = opts;
  const json = {
    meta,
    options: { ...shown, scenarios: opts.scenarios.map((s) => s.name) },
    failures: Object.fromEntries(failures),
    rows,
    runs,
  };
  writeFileSync(join(opts.out, `${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
  const svg = opts.svg ?? join(opts.out, `${stamp}.svg`);
  mkdirSync(dirname(svg), { recursive: true });
  writeFileSync(svg, renderSvg(rows, opts, meta));
  log(
    `\nreport: ${relative(process.cwd(), join(opts.out, stamp))}.md and .json; chart: ${relative(process.cwd(), svg)} (${Math.round((Date.now() - started) / 1000)} s)`,
  );
  if (failures.size) process.exitCode = 1;
}

main().catch((err) => {
  log(err.stack || String(err));
  process.exit(1);
});
