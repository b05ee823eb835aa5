/**
 * A real standalone Redis for fault tests: `redis-server` on a free loopback port, in a temporary
 * directory, that a test can kill (SIGKILL), freeze (SIGSTOP/SIGCONT) and start again on the same
 * port. It writes an append-only file fsynced before every reply (`--appendfsync always`), so what
 * it acknowledged survives a SIGKILL, as on a server that crashes and comes back.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, spawnOwned } from './child-process.js';

/** A Redis the test owns. */
export interface OwnedRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Kills the server with SIGKILL and resolves once it has exited; its port is then refused. */
  kill(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections are accepted by the kernel, nothing is answered. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void;
  /** Starts the server again on the same port and directory, and waits until it answers. */
  restart(): Promise<void>;
  /** Sends one command with redis-cli and returns its output. */
  command(...args: string[]): Promise<string>;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** Upper bounds, in milliseconds. */
const TIMEOUT = { start: 10_000, command: 5_000 } as const;

/**
 * Starts a Redis on a free port and waits until it answers.
 * @throws when `redis-server` cannot be run or does not answer in time
 */
export async function startRedis(): Promise<OwnedRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'keepstate-redis-faults-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const command = (...args: string[]) =>
    run('redis-cli', ['-h', HOST, '-p', String(port), ...args]);
  const start = async () => {
    const started = spawnOwned(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    child = started;
    const deadline = Date.now() + TIMEOUT.start;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`redis-server on port ${port} exited at start`);
      }
      // The pid tells our server from another process that took the port meanwhile.
      const info = await command('INFO', 'server').catch(() => '');
      if (info.includes(`process_id:${started.pid}`)) return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer`);
      await delay(50);
    }
  };
  const kill = async () => {
    const current = child;
    if (current === null || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://${HOST}:${port}`,
    kill,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    restart: async () => {
      await kill();
      await start();
    },
    command,
    stop: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Resolves when `redis-server` and `redis-cli` can be run: the probe to give `needService`.
 * @throws when either is missing
 */
export async function redisTools(): Promise<void> {
  for (const tool of ['redis-server', 'redis-cli']) await run(tool, ['--version']);
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: TIMEOUT.command }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
