/**
 * A real Redis Cluster for the tests: three masters (`redis-server --cluster-enabled yes`) on
 * free loopback ports, in a temporary directory, joined with `redis-cli --cluster create`.
 * Nothing is persisted and everything is removed by `stop()`.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, kill, spawnOwned } from './child-process.js';

/** Where one node of the cluster listens. */
export interface RedisClusterNode {
  readonly host: string;
  readonly port: number;
}

/** A running cluster. */
export interface RedisCluster {
  /** The masters, each serving a third of the slots. */
  readonly nodes: readonly RedisClusterNode[];
  /** Kills the servers and removes their directory. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** Upper bounds, in milliseconds. */
const TIMEOUT = { start: 10_000, create: 30_000, converge: 20_000, stop: 5_000 } as const;
// Redis Cluster nodes talk to each other on their port + 10000.
const BUS_OFFSET = 10_000;

/**
 * Resolves when `redis-server` and `redis-cli` can be run: the probe to give `needService`.
 * @throws when either is missing
 */
export async function redisClusterTools(): Promise<void> {
  for (const tool of ['redis-server', 'redis-cli']) {
    await new Promise<void>((resolve, reject) => {
      execFile(tool, ['--version'], { timeout: 5_000 }, (error) =>
        error ? reject(new Error(`${tool}: ${error.message}`)) : resolve(),
      );
    });
  }
}

/**
 * Starts a cluster of `masters` nodes (three by default) and waits until every node reports
 * `cluster_state:ok`.
 * @throws when a server does not start or the cluster does not converge in time
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'keepstate-redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => kill(child, TIMEOUT.stop)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const nodes: RedisClusterNode[] = [];
    for (let i = 0; i < masters; i++) {
      const { child, port } = await startNode(dir);
      children.push(child);
      nodes.push({ host: HOST, port });
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `${node.host}:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      TIMEOUT.create,
    );
    await waitFor('cluster_state:ok on every node', TIMEOUT.converge, async () => {
      for (const node of nodes) {
        const info = await redisCall(node.port, ['CLUSTER', 'INFO']);
        if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${masters}`))
          return false;
      }
      return true;
    });
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts one cluster node on a free port, trying another port if it was taken meanwhile. */
async function startNode(dir: string): Promise<{ child: ChildProcess; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeClusterPort();
    const child = spawnOwned(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output = capture(child);
    try {
      await waitFor(`redis-server on port ${port}`, TIMEOUT.start, async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `redis-server exited: ${output().trim().split('\n').slice(-3).join(' ')}`,
          );
        }
        // The pid tells our server from another test process's that took the port first.
        const info = await redisCall(port, ['INFO', 'server']).catch(() => '');
        return info.includes(`process_id:${child.pid}\r\n`);
      });
      return { child, port };
    } catch (error) {
      lastError = error;
      await kill(child);
    }
  }
  throw lastError;
}

/** A loopback port that is free, and whose cluster bus port (+10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + BUS_OFFSET <= 65_535 && (await isFree(port + BUS_OFFSET))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * `spawn`, and kill the child if this test process exits first (a test that times out, say), so
 * no server outlives the run.
 */
/** Keeps the last few KiB a child printed, for error messages. */
function capture(child: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

function run(command: string, args: readonly string[], timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Polls `ready` until it returns true, at most `timeout` ms. */
async function waitFor(what: string, timeout: number, ready: () => Promise<boolean>) {
  const deadline = Date.now() + timeout;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await delay(50);
  }
}

/**
 * Sends one command to the server on `port` over a fresh connection and returns its reply as
 * text (a simple string or a bulk string).
 * @throws on an error reply, a closed connection, or no reply within a second
 */
function redisCall(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let reply = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    const done = (value: string) => {
      socket.removeAllListeners('close');
      socket.end();
      resolve(value);
    };
    socket.setTimeout(1_000, () => fail(new Error('no reply')));
    socket.once('error', fail);
    socket.once('close', () => fail(new Error('connection closed')));
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const text = reply.toString('utf8');
      const end = text.indexOf('\r\n');
      if (end === -1) return;
      const head = text.slice(0, end);
      if (head.startsWith('+')) return done(head.slice(1));
      if (head.startsWith('-')) return fail(new Error(head.slice(1)));
      if (head.startsWith('$')) {
        const length = Number(head.slice(1));
        const body = reply.subarray(Buffer.byteLength(head) + 2);
        if (body.length >= length + 2) done(body.subarray(0, length).toString('utf8'));
        return;
      }
      fail(new Error(`unexpected reply ${JSON.stringify(head)}`));
    });
    socket.write(
      `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`,
    );
  });
}
