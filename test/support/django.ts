/**
 * Real Django for keepstate's interop tests: finds (or installs) Django, and runs batches of
 * operations through `test/interop/django_peer.py`, one Python process per batch.
 *
 * - Django 5.2 lives in a virtual environment the tests make themselves, `.cache/django-5.2/`
 *   (`python3 -m venv` + `pip install django==5.2.17`), reused while it imports that version.
 *   node:test runs test files in parallel processes, so making it is guarded by a lock directory.
 * - Django 3.2 is Debian's `python3-django`, run by `/usr/bin/python3`; the tests never install
 *   it (CI does: `apt-get install -y python3-django`).
 *
 * When Django cannot be had, {@link describeWithDjango} skips the suite with a message that says
 * what is missing and how to install it, or fails it when `KEEPSTATE_REQUIRE_SERVICES=1`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The Django releases the interop tests run against. */
export type DjangoRelease = '5.2' | '3.2';

const DJANGO_5_2 = '5.2.17';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PEER = join(ROOT, 'test', 'interop', 'django_peer.py');
const VENV = join(ROOT, '.cache', `django-${DJANGO_5_2.slice(0, 3)}`);
const LOCK = `${VENV}.lock`;
const DEBIAN_PYTHON = '/usr/bin/python3';

/** Upper bounds for every subprocess, in milliseconds. */
const TIMEOUT = {
  probe: 30_000,
  venv: 120_000,
  pip: 300_000,
  peer: 60_000,
  /** How long to wait for another test process that is making the venv. */
  lock: 480_000,
} as const;

/** One operation for the peer; see the docstring of `django_peer.py` for the operations. */
export interface DjangoOp {
  readonly op:
    | 'sign'
    | 'unsign'
    | 'dumps'
    | 'loads'
    | 'set_signed_cookie'
    | 'get_signed_cookie'
    | 'session_encode'
    | 'session_decode'
    | 'cookie_session_encode'
    | 'cookie_session_decode';
  /** `SECRET_KEY` for this operation (default: the batch's). */
  readonly secret?: string;
  /** `SECRET_KEY_FALLBACKS` for this operation (default: the batch's; Django 4.1+ only). */
  readonly fallbacks?: readonly string[];
  readonly [option: string]: unknown;
}

/** An exception Django raised, as the peer reports it. */
export interface DjangoError {
  readonly type: string;
  readonly message: string;
}

type PeerResult =
  | { readonly id: string; readonly result: unknown }
  | { readonly id: string; readonly error: DjangoError };

interface PeerOutput {
  readonly django_version: string;
  readonly python_version: string;
  readonly features: { readonly secret_key_fallbacks: boolean; readonly cookie_salt_v2: boolean };
  readonly results: readonly PeerResult[];
}

/** A Django installation that answers batches of operations. */
export interface DjangoPeer {
  readonly release: DjangoRelease;
  /** The interpreter that imports this Django. */
  readonly python: string;
  /** Runs the operations in one Python process, in order. */
  run(batch: {
    readonly secret: string;
    readonly fallbacks?: readonly string[];
    readonly ops: readonly (DjangoOp & { readonly id: string })[];
  }): Promise<PeerOutput>;
}

/** Either a usable Django, or why there is none. */
export type DjangoAvailability =
  | { readonly peer: DjangoPeer; readonly reason?: undefined }
  | { readonly peer?: undefined; readonly reason: string };

interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment for Python: no stray PYTHONPATH, and no .pyc files written into Debian's tree. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  delete env.PYTHONPATH;
  return env;
}

/** Runs a command to completion, killing it after `timeoutMs`; rejects only if it cannot start. */
function runProcess(
  command: string,
  args: readonly string[],
  options: { readonly input?: string; readonly timeoutMs: number },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: pythonEnv(),
    });
    // Our own timer rather than spawn's `timeout` option: that one is never cleared when the
    // command cannot start (ENOENT), and would hold the test process open until it fires.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {
      // The child may exit before reading its input; 'close' reports that.
    });
    child.stdin.end(options.input ?? '');
  });
}

function describeFailure(what: string, result: ProcessResult): string {
  const how = result.signal
    ? `was killed (${result.signal}, time limit?)`
    : `exited ${result.code}`;
  // pip warns about every index it cannot reach; the errors that follow are what matters.
  const lines = result.stderr.trim().split('\n');
  const errors = lines.filter((line) => !line.startsWith('WARNING: '));
  const tail = (errors.length > 0 ? errors : lines).slice(-5).join('\n');
  return `${what} ${how}${tail ? `:\n${tail}` : ''}`;
}

/** The Django version `python` imports, or why it imports none. */
async function djangoVersion(python: string): Promise<{ version?: string; problem?: string }> {
  try {
    const result = await runProcess(python, ['-c', 'import django; print(django.get_version())'], {
      timeoutMs: TIMEOUT.probe,
    });
    if (result.code === 0) return { version: result.stdout.trim() };
    return { problem: describeFailure(`${python} -c 'import django'`, result) };
  } catch (error) {
    return { problem: `${python} cannot be started (${(error as Error).message})` };
  }
}

function makePeer(release: DjangoRelease, python: string): DjangoPeer {
  return {
    release,
    python,
    async run(batch) {
      const result = await runProcess(python, [PEER], {
        input: JSON.stringify(batch),
        timeoutMs: TIMEOUT.peer,
      });
      if (result.code !== 0) throw new Error(describeFailure(`django_peer.py (${python})`, result));
      return JSON.parse(result.stdout) as PeerOutput;
    },
  };
}

/** True when the process that wrote `LOCK/pid` is gone, or the lock never got a pid. */
async function lockIsStale(): Promise<boolean> {
  try {
    const pid = Number(await readFile(join(LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    if (code !== 'ENOENT') return false;
    // No pid file: either its owner is between mkdir and writeFile, or it died there.
    const info = await stat(LOCK).catch(() => null);
    return info !== null && Date.now() - info.mtimeMs > 30_000;
  }
}

/** Runs `fn` while holding the `mkdir` lock next to the venv, so one test process makes it. */
async function withVenvLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(join(ROOT, '.cache'), { recursive: true });
  const deadline = Date.now() + TIMEOUT.lock;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await lockIsStale()) {
      await rm(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${LOCK} to go away`);
    // Another test process is installing Django; poll until it is done.
    await delay(250);
  }
  try {
    await writeFile(join(LOCK, 'pid'), String(process.pid));
    return await fn();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

async function installDjango52(python: string): Promise<string | undefined> {
  const installed = await djangoVersion(python);
  if (installed.version === DJANGO_5_2) return undefined;
  await rm(VENV, { recursive: true, force: true });
  let venv: ProcessResult;
  try {
    venv = await runProcess('python3', ['-m', 'venv', VENV], { timeoutMs: TIMEOUT.venv });
  } catch (error) {
    return `python3 cannot be started (${(error as Error).message})`;
  }
  if (venv.code !== 0) return describeFailure(`python3 -m venv ${VENV}`, venv);
  // pip's index settings are the machine's; only retries are cut, because an index that cannot
  // be reached would otherwise cost minutes of back-off before the reachable one answers.
  const pip = await runProcess(
    python,
    ['-m', 'pip', 'install', '--retries', '1', '--progress-bar', 'off', `django==${DJANGO_5_2}`],
    { timeoutMs: TIMEOUT.pip },
  );
  if (pip.code !== 0) return describeFailure(`pip install django==${DJANGO_5_2}`, pip);
  const after = await djangoVersion(python);
  return after.version === DJANGO_5_2
    ? undefined
    : `the new venv imports Django ${after.version ?? `nothing: ${after.problem}`}`;
}

async function findDjango52(): Promise<DjangoAvailability> {
  const python = join(VENV, 'bin', 'python');
  const how =
    `The tests make it themselves: python3 -m venv ${VENV} && ` +
    `${python} -m pip install django==${DJANGO_5_2}; that needs python3 with its venv module ` +
    `and a pip index (the machine's pip configuration) that has Django ${DJANGO_5_2}.`;
  if ((await djangoVersion(python)).version !== DJANGO_5_2) {
    const problem = await withVenvLock(() => installDjango52(python)).catch(
      (error: Error) => error.message,
    );
    if (problem) return { reason: `Django ${DJANGO_5_2} is not available: ${problem}\n${how}` };
  }
  return { peer: makePeer('5.2', python) };
}

async function findDjango32(): Promise<DjangoAvailability> {
  const { version, problem } = await djangoVersion(DEBIAN_PYTHON);
  if (version?.startsWith('3.2.')) return { peer: makePeer('3.2', DEBIAN_PYTHON) };
  const found = version ? `it imports Django ${version}` : problem;
  return {
    reason:
      `Django 3.2 (Debian's python3-django) is not available: ${found}\n` +
      'Install it with: apt-get update && apt-get install -y python3-django',
  };
}

/** Finds Django `release`, making the 5.2 venv on first use. Never throws. */
export function findDjango(release: DjangoRelease): Promise<DjangoAvailability> {
  return release === '5.2' ? findDjango52() : findDjango32();
}

/**
 * `describe(title, ...)` with a Django peer: skipped when Django is unavailable, or failed with
 * the reason when `KEEPSTATE_REQUIRE_SERVICES=1`.
 */
export function describeWithDjango(
  title: string,
  django: DjangoAvailability,
  body: (peer: DjangoPeer) => void,
): void {
  const { peer, reason } = django;
  if (peer) {
    describe(title, () => body(peer));
  } else if (process.env.KEEPSTATE_REQUIRE_SERVICES === '1') {
    describe(title, () => {
      it('has Django (KEEPSTATE_REQUIRE_SERVICES=1)', () => assert.fail(reason));
    });
  } else {
    describe(title, () => {
      it('has Django', { skip: reason }, () => {});
    });
  }
}

/** The pending answer to one operation of a {@link DjangoBatch}. */
export interface DjangoCall {
  /** Django's result; fails the test with Django's exception if it raised one. */
  result(): Promise<unknown>;
  /** Django's exception; fails the test if Django returned a result instead. */
  error(): Promise<DjangoError>;
}

/** What the peer said about itself, and its answers by operation id. */
interface BatchReply {
  readonly about: Pick<PeerOutput, 'django_version' | 'python_version' | 'features'>;
  readonly answers: ReadonlyMap<string, PeerResult | { readonly thrown: unknown }>;
}

/**
 * Operations collected while a suite registers its tests, sent to Django in one process the
 * first time a test asks for an answer. An operation may be a function, called then, so that
 * keepstate's own output is computed inside the test run (a keepstate failure then fails the
 * tests that depend on it, not the whole file).
 */
export class DjangoBatch {
  readonly #peer: DjangoPeer;
  readonly #defaults: { readonly secret: string; readonly fallbacks?: readonly string[] };
  readonly #ops: (() => DjangoOp)[] = [];
  #reply: Promise<BatchReply> | undefined;

  constructor(
    peer: DjangoPeer,
    defaults: { readonly secret: string; readonly fallbacks?: readonly string[] },
  ) {
    this.#peer = peer;
    this.#defaults = defaults;
  }

  /** Adds an operation; its answer is available once the tests run. */
  add(op: DjangoOp | (() => DjangoOp)): DjangoCall {
    assert.equal(this.#reply, undefined, 'DjangoBatch.add() after the batch was sent');
    const id = String(this.#ops.length);
    this.#ops.push(typeof op === 'function' ? op : () => op);
    const answer = async () => {
      const found = (await this.#send()).answers.get(id);
      assert.ok(found, `no answer for operation ${id}`);
      if ('thrown' in found) throw found.thrown;
      return found;
    };
    return {
      async result() {
        const found = await answer();
        if ('error' in found) {
          assert.fail(`Django raised ${found.error.type}: ${found.error.message}`);
        }
        return found.result;
      },
      async error() {
        const found = await answer();
        if (!('error' in found)) {
          assert.fail(`Django returned ${JSON.stringify(found.result)} instead of raising`);
        }
        return found.error;
      },
    };
  }

  /** What the peer reported about itself: Django and Python versions, features. */
  async about(): Promise<BatchReply['about']> {
    return (await this.#send()).about;
  }

  #send(): Promise<BatchReply> {
    this.#reply ??= (async () => {
      const answers = new Map<string, PeerResult | { readonly thrown: unknown }>();
      const ops: (DjangoOp & { id: string })[] = [];
      this.#ops.forEach((make, index) => {
        const id = String(index);
        try {
          ops.push({ ...make(), id });
        } catch (thrown) {
          answers.set(id, { thrown });
        }
      });
      const { results, ...about } = await this.#peer.run({ ...this.#defaults, ops });
      for (const result of results) answers.set(result.id, result);
      return { about, answers };
    })();
    return this.#reply;
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The instant a `TimestampSigner` value (`value:timestamp:signature`) was signed at, read from
 * its base62 timestamp; lets keepstate sign at the very second Django did and compare bytes.
 */
export function signedAt(token: string, sep = ':'): Date {
  const parts = token.split(sep);
  const timestamp = parts.at(-2);
  assert.ok(timestamp, `no timestamp in ${token}`);
  let seconds = 0;
  for (const digit of timestamp) seconds = seconds * 62 + BASE62.indexOf(digit);
  return new Date(seconds * 1000);
}
