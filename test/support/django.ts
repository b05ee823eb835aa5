/**
 * Real Django for keepstate's interop tests: finds (or installs) Django, and runs batches of
 * operations through `test/interop/django_peer.py`, one Python process per batch.
 *
 * - Django 5.2 lives in a virtual environment the tests make themselves, `.cache/django-5.2/`
 *   (`python3 -m venv` + `pip install` of {@link REQUIREMENTS_5_2}: Django, and the psycopg and
 *   redis drivers the peer's PostgreSQL and Redis engines use), reused while it imports those
 *   versions. node:test runs test files in parallel processes, so making it is guarded by a lock
 *   directory.
 * - Django 3.2 is Debian's `python3-django`, run by `/usr/bin/python3`; the tests never install
 *   it (CI does: `apt-get install -y python3-django python3-psycopg2 python3-redis`).
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
/**
 * What the Django 5.2 venv holds, pinned: Django, and the drivers of the peer's PostgreSQL engine
 * (psycopg 3, which Django 5.2 prefers) and of its django-redis-sessions engine (redis-py).
 */
const REQUIREMENTS_5_2 = {
  django: DJANGO_5_2,
  psycopg: '3.3.6',
  redis: '8.1.0',
} as const;
const PIP_REQUIREMENTS = [
  `django==${REQUIREMENTS_5_2.django}`,
  `psycopg[binary]==${REQUIREMENTS_5_2.psycopg}`,
  `redis==${REQUIREMENTS_5_2.redis}`,
];
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
    | 'cookie_session_decode'
    | 'migrate'
    | 'session_write'
    | 'session_read'
    | 'stored'
    | 'clear_expired'
    | 'create_user'
    | 'set_password'
    | 'user'
    | 'login'
    | 'get_user';
  /** `SECRET_KEY` for this operation (default: the batch's). */
  readonly secret?: string;
  /** `SECRET_KEY_FALLBACKS` for this operation (default: the batch's; Django 4.1+ only). */
  readonly fallbacks?: readonly string[];
  readonly [option: string]: unknown;
}

/**
 * How the peer configures Django for a batch (`settings.configure`, once per process): the
 * database, the file engine's folder, the Redis server of the django-redis-sessions engine, the
 * session settings, and whether `django.contrib.auth` is installed.
 */
export interface DjangoSettings {
  readonly database?:
    | { readonly engine: 'sqlite'; readonly name: string }
    | {
        readonly engine: 'postgresql';
        readonly host: string;
        readonly port: number;
        readonly user: string;
        readonly name: string;
        /** Every table lives in this schema (`search_path`), so a test run has its own `django_session`. */
        readonly schema: string;
      };
  /** A folder for Django's default cache (`FileBasedCache`), which the cached_db engine uses. */
  readonly cache_location?: string;
  /** `SESSION_FILE_PATH`. */
  readonly session_file_path?: string;
  /** django-redis-sessions' `SESSION_REDIS` (`host`, `port`, `db`, `prefix`). */
  readonly redis?: {
    readonly host: string;
    readonly port: number;
    readonly db?: number;
    readonly prefix?: string;
  };
  /** `SESSION_COOKIE_AGE`, seconds. */
  readonly cookie_age?: number;
  /** `SESSION_COOKIE_NAME`. */
  readonly cookie_name?: string;
  /** `SESSION_EXPIRE_AT_BROWSER_CLOSE`. */
  readonly expire_at_browser_close?: boolean;
  /** Installs `django.contrib.contenttypes` and `django.contrib.auth` beside the sessions app. */
  readonly auth?: boolean;
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
  readonly features: {
    readonly secret_key_fallbacks: boolean;
    readonly cookie_salt_v2: boolean;
    /** `set_expiry(datetime)` stores `isoformat()` (Django 4.0+); 3.2 keeps the datetime. */
    readonly expiry_isoformat: boolean;
  };
  readonly results: readonly PeerResult[];
}

/** The batch a peer runs: keys, settings and operations. */
export interface DjangoRun {
  readonly secret: string;
  readonly fallbacks?: readonly string[];
  readonly settings?: DjangoSettings;
  readonly ops: readonly (DjangoOp & { readonly id: string })[];
}

/** The optional Python modules a peer's interpreter imports, by name, with their versions. */
export interface PeerModules {
  /** psycopg 3 or psycopg2, for the PostgreSQL engine. */
  readonly psycopg: string | null;
  /** redis-py, for the django-redis-sessions engine. */
  readonly redis: string | null;
}

/** A Django installation that answers batches of operations. */
export interface DjangoPeer {
  readonly release: DjangoRelease;
  /** The interpreter that imports this Django. */
  readonly python: string;
  /** The optional modules that interpreter imports. */
  readonly modules: PeerModules;
  /** Runs the operations in one Python process, in order. */
  run(batch: DjangoRun): Promise<PeerOutput>;
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
  options: {
    readonly input?: string;
    readonly timeoutMs: number;
    readonly cwd?: string;
    readonly env?: Readonly<Record<string, string>>;
  },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...pythonEnv(), ...options.env },
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

// Prints the versions of Django and of the optional drivers, null for a missing one.
const PROBE = `
import json
def version(name, attribute="__version__"):
    try:
        module = __import__(name)
    except ImportError:
        return None
    return str(getattr(module, attribute)).split(" ")[0]
import django
print(json.dumps({
    "django": django.get_version(),
    "psycopg": version("psycopg") or version("psycopg2"),
    "redis": version("redis"),
}))
`;

interface Probe {
  readonly version?: string;
  readonly modules?: PeerModules;
  readonly problem?: string;
}

/** The Django version `python` imports and its optional modules, or why it imports no Django. */
async function probe(python: string): Promise<Probe> {
  try {
    const result = await runProcess(python, ['-c', PROBE], { timeoutMs: TIMEOUT.probe });
    if (result.code !== 0)
      return { problem: describeFailure(`${python} -c 'import django'`, result) };
    const found = JSON.parse(result.stdout) as { django: string } & PeerModules;
    return { version: found.django, modules: { psycopg: found.psycopg, redis: found.redis } };
  } catch (error) {
    return { problem: `${python} cannot be started (${(error as Error).message})` };
  }
}

/** Whether the 5.2 venv imports exactly {@link REQUIREMENTS_5_2}. */
function complete52(found: Probe): boolean {
  return (
    found.version === REQUIREMENTS_5_2.django &&
    found.modules?.psycopg === REQUIREMENTS_5_2.psycopg &&
    found.modules.redis === REQUIREMENTS_5_2.redis
  );
}

function makePeer(release: DjangoRelease, python: string, modules: PeerModules): DjangoPeer {
  return {
    release,
    python,
    modules,
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
  const installed = await probe(python);
  if (complete52(installed)) return undefined;
  // A venv whose python starts gets the missing packages; anything else is made anew.
  const starts = await runProcess(python, ['-c', ''], { timeoutMs: TIMEOUT.probe }).then(
    (result) => result.code === 0,
    () => false,
  );
  if (!starts) {
    await rm(VENV, { recursive: true, force: true });
    let venv: ProcessResult;
    try {
      venv = await runProcess('python3', ['-m', 'venv', VENV], { timeoutMs: TIMEOUT.venv });
    } catch (error) {
      return `python3 cannot be started (${(error as Error).message})`;
    }
    if (venv.code !== 0) return describeFailure(`python3 -m venv ${VENV}`, venv);
  }
  // pip's index settings are the machine's; only retries are cut, because an index that cannot
  // be reached would otherwise cost minutes of back-off before the reachable one answers.
  const pip = await runProcess(
    python,
    ['-m', 'pip', 'install', '--retries', '1', '--progress-bar', 'off', ...PIP_REQUIREMENTS],
    { timeoutMs: TIMEOUT.pip },
  );
  if (pip.code !== 0) return describeFailure(`pip install ${PIP_REQUIREMENTS.join(' ')}`, pip);
  const after = await probe(python);
  return complete52(after)
    ? undefined
    : `the venv imports ${after.problem ?? JSON.stringify({ django: after.version, ...after.modules })}`;
}

async function findDjango52(): Promise<DjangoAvailability> {
  const python = join(VENV, 'bin', 'python');
  const how =
    `The tests make it themselves: python3 -m venv ${VENV} && ` +
    `${python} -m pip install ${PIP_REQUIREMENTS.join(' ')}; that needs python3 with its venv ` +
    "module and a pip index (the machine's pip configuration) that has those releases.";
  let found = await probe(python);
  if (!complete52(found)) {
    const problem = await withVenvLock(() => installDjango52(python)).catch(
      (error: Error) => error.message,
    );
    if (problem) return { reason: `Django ${DJANGO_5_2} is not available: ${problem}\n${how}` };
    found = await probe(python);
  }
  return {
    peer: makePeer('5.2', python, found.modules ?? { psycopg: null, redis: null }),
  };
}

async function findDjango32(): Promise<DjangoAvailability> {
  const { version, problem, modules } = await probe(DEBIAN_PYTHON);
  if (version?.startsWith('3.2.') && modules) {
    return { peer: makePeer('3.2', DEBIAN_PYTHON, modules) };
  }
  const found = version ? `it imports Django ${version}` : problem;
  return {
    reason:
      `Django 3.2 (Debian's python3-django) is not available: ${found}\n` +
      'Install it with: apt-get update && apt-get install -y python3-django',
  };
}

/**
 * Runs a Python script or command with a peer's interpreter, in `cwd` with extra `env`, killed
 * after `timeoutMs` (default a minute); resolves to its standard output.
 *
 * @throws when it cannot start, exits non-zero or is killed, with the end of its stderr
 */
export async function runPython(
  peer: DjangoPeer,
  args: readonly string[],
  options: {
    readonly input?: string;
    readonly cwd?: string;
    readonly env?: Readonly<Record<string, string>>;
    readonly timeoutMs?: number;
  } = {},
): Promise<string> {
  const result = await runProcess(peer.python, args, {
    ...options,
    timeoutMs: options.timeoutMs ?? TIMEOUT.peer,
  });
  if (result.code !== 0)
    throw new Error(describeFailure(`${peer.python} ${args.join(' ')}`, result));
  return result.stdout;
}

/** Finds Django `release`, making the 5.2 venv on first use. Never throws. */
export function findDjango(release: DjangoRelease): Promise<DjangoAvailability> {
  return release === '5.2' ? findDjango52() : findDjango32();
}

const MODULE_PACKAGES: Readonly<Record<keyof PeerModules, { debian: string; pip: string }>> = {
  psycopg: { debian: 'python3-psycopg2', pip: `psycopg[binary]==${REQUIREMENTS_5_2.psycopg}` },
  redis: { debian: 'python3-redis', pip: `redis==${REQUIREMENTS_5_2.redis}` },
};

/**
 * `django`, or why it cannot serve a suite that needs the Python `modules` (the PostgreSQL or
 * Redis driver), with the package that provides each.
 */
export function withModules(
  django: DjangoAvailability,
  modules: readonly (keyof PeerModules)[],
): DjangoAvailability {
  const { peer } = django;
  if (!peer) return django;
  const missing = modules.filter((name) => peer.modules[name] === null);
  if (missing.length === 0) return django;
  const packages = missing.map((name) =>
    peer.release === '3.2' ? MODULE_PACKAGES[name].debian : MODULE_PACKAGES[name].pip,
  );
  const how =
    peer.release === '3.2'
      ? `apt-get install -y ${packages.join(' ')}`
      : `${peer.python} -m pip install ${packages.join(' ')} (the test set-up does this)`;
  return {
    reason: `Django ${peer.release} (${peer.python}) cannot import ${missing.join(', ')}; install it with: ${how}`,
  };
}

/** What {@link runDjango} gives back: each operation's result, in order, and the peer's report. */
export interface DjangoRunResult {
  readonly results: unknown[];
  readonly about: Omit<PeerOutput, 'results'>;
}

/**
 * Runs `ops` in one peer process, in order, for steps that must happen between two keepstate
 * steps (log in, change a password, read again).
 *
 * @throws when Django raised in any operation, with Django's exception
 */
export async function runDjango(
  peer: DjangoPeer,
  batch: Omit<DjangoRun, 'ops'> & { readonly ops: readonly DjangoOp[] },
): Promise<DjangoRunResult> {
  const { results, ...about } = await peer.run({
    ...batch,
    ops: batch.ops.map((op, index) => ({ ...op, id: String(index) })),
  });
  return {
    about,
    results: results.map((result) => {
      if ('error' in result) {
        const op = batch.ops[Number(result.id)]?.op;
        assert.fail(`Django raised ${result.error.type} in ${op}: ${result.error.message}`);
      }
      return result.result;
    }),
  };
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

/** The keys and settings every operation of a {@link DjangoBatch} runs with, unless it says otherwise. */
export type DjangoBatchDefaults = Omit<DjangoRun, 'ops'>;

/**
 * Operations collected while a suite registers its tests, sent to Django in one process the
 * first time a test asks for an answer. An operation may be a function, called then, so that
 * keepstate's own output is computed inside the test run (a keepstate failure then fails the
 * tests that depend on it, not the whole file). It may be async: it can write through a
 * keepstate store, or wait for the answer of another batch, before saying what Django does. It
 * must never wait for an answer of its own batch (the batch is not sent until every function
 * has returned), and a batch is sent once, when a test first needs it: a function that changes
 * a session must change one no earlier test reads.
 */
export class DjangoBatch {
  readonly #peer: DjangoPeer;
  readonly #defaults: DjangoBatchDefaults;
  readonly #ops: (() => DjangoOp | Promise<DjangoOp>)[] = [];
  #reply: Promise<BatchReply> | undefined;

  constructor(peer: DjangoPeer, defaults: DjangoBatchDefaults) {
    this.#peer = peer;
    this.#defaults = defaults;
  }

  /** Adds an operation; its answer is available once the tests run. */
  add(op: DjangoOp | (() => DjangoOp | Promise<DjangoOp>)): DjangoCall {
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
      // In order: an operation may depend on what an earlier one's function did.
      for (const [index, make] of this.#ops.entries()) {
        const id = String(index);
        try {
          ops.push({ ...(await make()), id });
        } catch (thrown) {
          answers.set(id, { thrown });
        }
      }
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
