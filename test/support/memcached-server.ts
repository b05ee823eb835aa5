/**
 * A real memcached for the tests: `memcached -l 127.0.0.1 -p PORT -U 0` on a free loopback port,
 * as a child process, stopped by `stop()`.
 */
import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, kill, spawnOwned } from './child-process.js';

/** A running memcached. */
export interface MemcachedServer {
  /** `host:port`, as memjs's `Client.create` takes it. */
  readonly url: string;
  readonly port: number;
  /** Kills the server. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** Upper bounds, in milliseconds. */
const TIMEOUT = { start: 10_000, stop: 5_000 } as const;

/**
 * Resolves when `memcached` can be run: the probe to give `needService`.
 * @throws when it is missing
 */
export function memcachedTool(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('memcached', ['-V'], { timeout: 5_000 }, (error) =>
      error ? reject(new Error(`memcached: ${error.message}`)) : resolve(),
    );
  });
}

/**
 * Starts memcached on a free loopback port (UDP off) and waits until it answers.
 * @throws when it does not start in time
 */
export async function startMemcached(): Promise<MemcachedServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    // memcached refuses to run as root unless told which user to become.
    const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
    const child = spawnOwned('memcached', ['-l', HOST, '-p', String(port), '-U', '0', ...user], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    });
    try {
      const deadline = Date.now() + TIMEOUT.start;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`memcached exited: ${stderr.trim()}`);
        }
        if ((await serverPid(port)) === child.pid) break;
        if (Date.now() > deadline) throw new Error(`gave up waiting for memcached on ${port}`);
        await delay(50);
      }
      return { url: `${HOST}:${port}`, port, stop: () => kill(child, TIMEOUT.stop) };
    } catch (error) {
      lastError = error;
      await kill(child);
    }
  }
  throw lastError;
}

/**
 * The pid a memcached on `port` reports in `stats`, or `null` when none answers: checking it
 * tells our server from another test process's that took the same port first.
 */
function serverPid(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let text = '';
    const finish = (pid: number | null) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(1_000, () => finish(null));
    socket.once('error', () => finish(null));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.endsWith('END\r\n')) return;
      const match = /^STAT pid (\d+)\r$/m.exec(text);
      finish(match ? Number(match[1]) : null);
    });
    socket.write('stats\r\n');
  });
}

/**
 * `spawn`, and kill the child if this test process exits first (a test that times out, say), so
 * no server outlives the run.
 */
