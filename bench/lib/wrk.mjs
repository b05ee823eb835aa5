// One bounded wrk run against 127.0.0.1, pinned to the load CPU, with lib/session.lua cycling
// through the pool's cookies; resolves to wrk's JSON summary plus wrk's CPU seconds.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readProcCpuSeconds } from './cpu.mjs';
import { HOST } from './net.mjs';
import { pinned } from './server.mjs';

export const WORKLOADS = {
  R: { path: '/read', cookies: true, what: 'read one value from an existing session' },
  W: {
    path: '/write',
    cookies: true,
    what: 'increment a counter in an existing session (saved every request)',
  },
  N: {
    path: '/new',
    cookies: false,
    what: 'no cookie: create and save a new session every request',
  },
};

export function runWrk(opts, workload, cookieFile, seconds, tmp) {
  const outFile = join(tmp, `wrk-${process.pid}-${Date.now()}.json`);
  const statFile = `${outFile}.stat`;
  const url = `http://${HOST}:${opts.port}/`;
  const wrkArgs = [
    '-t',
    String(opts.threads),
    '-c',
    String(opts.connections),
    '-d',
    `${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    join(opts.root, 'lib', 'session.lua'),
    url,
  ];
  const [cmd, args] = pinned(opts.loadCpu, 'wrk', wrkArgs, opts.pin);
  // A small shell runs wrk and, once it has waited for it, writes its own /proc stat line, whose
  // cutime/cstime are wrk's CPU time.
  const script = '"$@"; rc=$?; cat /proc/$$/stat > "$BENCH_STAT"; exit $rc';
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', cmd, ...args], {
      env: {
        ...process.env,
        BENCH_PATH: WORKLOADS[workload].path,
        BENCH_COOKIES: WORKLOADS[workload].cookies ? cookieFile : '',
        BENCH_OUT: outFile,
        BENCH_STAT: statFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so the hard bound below reaches wrk too
    });
    let text = '';
    const collect = (d) => {
      text += d;
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const killer = setTimeout(
      () => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
      (seconds + 15) * 1000,
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      if (code !== 0) {
        reject(new Error(`wrk exited ${code}:\n${text}`));
        return;
      }
      try {
        const res = JSON.parse(readFileSync(outFile, 'utf8'));
        res.cpu_s = readProcCpuSeconds(0, { children: true, text: readFileSync(statFile, 'utf8') });
        rmSync(outFile, { force: true });
        rmSync(statFile, { force: true });
        resolve(res);
      } catch (err) {
        reject(new Error(`could not read wrk results (${err.message}):\n${text}`));
      }
    });
  });
}
