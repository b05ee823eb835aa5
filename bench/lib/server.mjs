// The server under test: start it pinned to its CPU, check the contract of servers/_common.mjs on
// a session of its own, seed the pool of sessions through its own /new route, stop it.
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { get, HOST, mergeCookies } from './net.mjs';

export function pinned(cpu, cmd, args, pin) {
  return pin ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/**
 * Starts `scn`'s server and waits for GET /health. With `profile` ({ dir, name }) the server runs
 * under `node --cpu-prof`, which writes the profile when the server exits.
 */
export async function startServer(scn, opts, env, profile) {
  const file = join(opts.root, scn.file);
  if (!existsSync(file)) throw new Error(`server file not found: ${scn.file}`);
  const prof = profile
    ? ['--cpu-prof', '--cpu-prof-dir', profile.dir, '--cpu-prof-name', profile.name]
    : [];
  const [cmd, args] = pinned(opts.serverCpu, process.execPath, [...prof, file], opts.pin);
  const child = spawn(cmd, args, {
    cwd: opts.root,
    env: { ...process.env, ...env, ...scn.env, PORT: String(opts.port), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d) => {
    output += d;
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = { code, sig };
  });
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(
        `${scn.name} exited during start (${JSON.stringify(exited)}):\n${output.slice(-2000)}`,
      );
    }
    try {
      const r = await get(opts.port, '/health');
      if (r.status === 200) return { child, output: () => output, alive: () => !exited };
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${scn.name} did not answer /health within 15 s:\n${output.slice(-2000)}`);
}

export async function stopServer(srv) {
  if (!srv?.alive()) return;
  const done = new Promise((r) => srv.child.once('exit', r));
  srv.child.kill('SIGTERM');
  // A server writing its CPU profile needs longer than one that only closes its sockets.
  const t = setTimeout(() => srv.child.kill('SIGKILL'), 10000);
  await done;
  clearTimeout(t);
}

export async function assertPortFree(port) {
  try {
    await get(port, '/health');
  } catch {
    return;
  }
  throw new Error(`something already answers on ${HOST}:${port}; stop it or pass --port`);
}

export function expect(cond, msg) {
  if (!cond) throw new Error(`contract check failed: ${msg}`);
}

/** Checks that the server does what the workloads assume, on a session of its own. */
export async function checkScenario(scn, port) {
  if (scn.baseline || scn.untouched) {
    const cookie = scn.untouched ? dummyCookie(scn) : undefined;
    for (const p of ['/read', '/write', '/new']) {
      const r = await get(port, p, { cookie });
      expect(r.status === 200, `${p} answered ${r.status}`);
      if (scn.untouched) expect(!r.headers['set-cookie'], `${p} set a cookie`);
    }
    if (scn.untouched) {
      const calls = await get(port, '/store-calls');
      expect(calls.body === '0', `the store was called ${calls.body} time(s)`);
    }
    return;
  }
  const n = await get(port, '/new');
  expect(n.status === 200 && n.body === 'count=0', `/new answered ${n.status} "${n.body}"`);
  expect(n.headers['set-cookie']?.length > 0, '/new set no cookie');
  const c0 = mergeCookies('', n.headers['set-cookie']);

  const anon = await get(port, '/read');
  expect(anon.status === 409, `/read without a cookie answered ${anon.status} (expected 409)`);

  const r0 = await get(port, '/read', { cookie: c0 });
  expect(
    r0.status === 200 && r0.body === 'count=0',
    `/read with the new cookie answered ${r0.status} "${r0.body}"`,
  );

  const w1 = await get(port, '/write', { cookie: c0 });
  expect(w1.status === 200 && w1.body === 'count=1', `/write answered ${w1.status} "${w1.body}"`);
  const c1 = mergeCookies(c0, w1.headers['set-cookie']);

  const r1 = await get(port, '/read', { cookie: c1 });
  expect(
    r1.status === 200 && r1.body === 'count=1',
    `/read after /write answered ${r1.status} "${r1.body}" (the write was not saved)`,
  );
}

// Baselines get random cookies of a typical size, so the requests are the same size; the
// untouched scenario gets a well-formed keepstate session cookie, as a real visitor would send.
function dummyCookie(scn) {
  if (!scn.untouched) return `sid=${randomBytes(32).toString('base64url')}`;
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `sessionid=${Array.from({ length: 32 }, () => chars[randomInt(chars.length)]).join('')}`;
}

/** Creates `count` sessions through the server's own /new route; returns their Cookie headers. */
export async function seedSessions(scn, port, count) {
  if (scn.baseline || scn.untouched) return Array.from({ length: count }, () => dummyCookie(scn));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const cookies = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await get(port, '/new', { agent });
      expect(r.status === 200, `/new answered ${r.status} while seeding`);
      cookies[i] = mergeCookies('', r.headers['set-cookie']);
      expect(cookies[i], '/new set no cookie while seeding');
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  return cookies;
}
