#!/usr/bin/env node
// `npm run bench [-- args]`: builds keepstate (npm run build), installs the peers into bench/
// (npm ci) when bench/node_modules is missing, starts the bench's own Redis unless REDIS_URL is
// set (and stops it again if it started it), then runs bench.mjs with the arguments given.
// With no arguments at all it is the full run for the README: the chart goes to docs/bench.svg.
// `--no-build` skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args, cwd, what) {
  process.stderr.write(`bench: ${what}\n`);
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${what} failed (${r.error?.message ?? `exit ${r.status}`})\n`);
    process.exit(1);
  }
}

let args = process.argv.slice(2);
const build = !args.includes('--no-build');
args = args.filter((a) => a !== '--no-build');
if (build) run(npm, ['run', 'build', '--silent'], ROOT, 'npm run build');
if (!existsSync(join(HERE, 'node_modules')))
  run(npm, ['ci', '--no-audit', '--no-fund'], HERE, 'npm ci in bench/');
const has = (command) =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
// A fresh machine has neither wrk nor (always) redis-server: install them the way .ci/run installs
// the test servers, when we may.
const missing = ['wrk', 'redis-server', 'taskset'].filter((command) => !has(command));
if (missing.length > 0 && process.getuid?.() === 0 && has('apt-get')) {
  const packages = missing.map((command) => (command === 'taskset' ? 'util-linux' : command));
  process.env.DEBIAN_FRONTEND ??= 'noninteractive';
  run('apt-get', ['update', '-qq'], HERE, 'apt-get update');
  run(
    'apt-get',
    ['install', '-y', '-qq', '--no-install-recommends', ...packages],
    HERE,
    `apt-get install ${packages.join(' ')}`,
  );
}
for (const command of ['wrk', 'redis-server', 'taskset']) {
  if (has(command)) continue;
  const hint = command === 'taskset' ? 'util-linux' : command;
  process.stderr.write(
    `bench: ${command} not found; install it (Debian: apt-get install -y ${hint})\n`,
  );
  process.exit(1);
}
// The PostgreSQL scenario uses the machine's server; start it as .ci/run does when it is down.
if (!process.env.BENCH_POSTGRES_URL && has('pg_ctlcluster') && !pgReady()) {
  const versions = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.split('\n');
  run(
    'pg_ctlcluster',
    ['--skip-systemctl-redirect', versions[0], 'main', 'start'],
    HERE,
    'starting PostgreSQL',
  );
}
const ownRedis =
  !process.env.REDIS_URL &&
  !args.includes('--list') &&
  !args.includes('-h') &&
  !args.includes('--help');
let startedRedis = false;
if (ownRedis) {
  const up = spawnSync('sh', [join(HERE, 'redis.sh'), 'status'], { stdio: 'ignore' }).status === 0;
  if (!up) {
    run('sh', [join(HERE, 'redis.sh'), 'start'], HERE, 'starting the bench Redis');
    startedRedis = true;
  }
}
const full = args.length === 0 ? ['--svg', join(ROOT, 'docs', 'bench.svg')] : [];
const bench = spawnSync(process.execPath, [join(HERE, 'bench.mjs'), ...full, ...args], {
  stdio: 'inherit',
});
if (startedRedis) spawnSync('sh', [join(HERE, 'redis.sh'), 'stop'], { stdio: 'inherit' });
process.exit(bench.status ?? 1);

function pgReady() {
  return spawnSync('pg_isready', ['-q', '-h', '127.0.0.1'], { stdio: 'ignore' }).status === 0;
}
