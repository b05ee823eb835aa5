import { parseArgs } from 'node:util';
import { isValidSessionKey } from '../core/session-key.js';
import { SessionManager } from '../core/session-manager.js';
import type { SessionStore } from '../core/session-store.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import { storeFromUrl } from '../stores/store-from-url.js';

const USAGE = `Usage: keepstate <command> [--store URL]

Commands:
  clearsessions          delete expired sessions (Django's manage.py clearsessions)
  migrate                create the session table and its index if missing (SQL stores)
  inspect <session key>  print a stored session: its key, expiry and decoded data

Options:
  --store URL     the store, as storeFromUrl takes it (default: $KEEPSTATE_STORE),
                  e.g. sqlite:./sessions.sqlite3, postgres://user@host/db, file:./sessions
  -h, --help      show this help

Environment:
  KEEPSTATE_STORE             the store URL, when --store is not given
  KEEPSTATE_SECRET            the secret sessions are signed with (Django's SECRET_KEY); needed
                              by inspect, and by clearsessions on a file store
  KEEPSTATE_FALLBACK_SECRETS  older secrets, comma-separated (Django's SECRET_KEY_FALLBACKS)
`;

/** A store a command can migrate. */
interface Migratable extends SessionStore {
  migrate(): Promise<void>;
}

/**
 * Runs the `keepstate` command line with `argv` (the arguments after the program name) and
 * returns the exit code. Output goes to `out` and `err`.
 */
export async function main(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    err.write(`keepstate: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined) {
    (values.help ? out : err).write(USAGE);
    return values.help ? 0 : 2;
  }
  if (command !== 'clearsessions' && command !== 'migrate' && command !== 'inspect') {
    err.write(`keepstate: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  const url = values.store ?? process.env.KEEPSTATE_STORE;
  if (url === undefined || url === '') {
    err.write('keepstate: no store given: pass --store URL or set KEEPSTATE_STORE\n');
    return 2;
  }
  const store = await storeFromUrl(url);
  try {
    attachSecret(store);
    if (command === 'migrate') return await migrate(store, url, out, err);
    if (command === 'inspect') return await inspect(store, positionals[1], out, err);
    return await clearSessions(store, url, out, err);
  } catch (error) {
    if (!(error instanceof ImproperlyConfigured)) throw error;
    err.write(`${error.message}\nThe command line reads the secret from KEEPSTATE_SECRET.\n`);
    return 2;
  } finally {
    await store.close();
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { store: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}

async function clearSessions(
  store: SessionStore,
  url: string,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (store.selfExpiring === true) {
    // Django's CommandError text, for stores whose backend expires sessions itself.
    err.write(`Session engine '${redact(url)}' doesn't support clearing expired sessions.\n`);
    return 1;
  }
  const tty = 'isTTY' in err && err.isTTY === true;
  let reported = 0;
  const deleted = await store.clearExpired({
    onProgress(count) {
      if (tty) err.write(`\rdeleted ${count} expired sessions…`);
      else if (count - reported >= 10_000) {
        err.write(`deleted ${count} expired sessions…\n`);
        reported = count;
      }
    },
  });
  if (tty) err.write('\r\x1b[K');
  out.write(`Deleted ${deleted} expired session${deleted === 1 ? '' : 's'}.\n`);
  return 0;
}

async function migrate(
  store: SessionStore,
  url: string,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (typeof (store as Partial<Migratable>).migrate !== 'function') {
    err.write(`Store '${redact(url)}' has no table to migrate.\n`);
    return 1;
  }
  await (store as Migratable).migrate();
  out.write('The session table is ready.\n');
  return 0;
}

/**
 * Gives the store the secret from the environment, as a SessionManager would, so it can decode
 * sessions. Without one, only commands that need no decoding work.
 */
function attachSecret(store: SessionStore): void {
  const secret = process.env.KEEPSTATE_SECRET;
  if (secret === undefined || secret === '') return;
  const fallbackSecrets = (process.env.KEEPSTATE_FALLBACK_SECRETS ?? '').split(',').filter(Boolean);
  // The CLI reads sessions an app made, whatever its secret's length: no minimum here.
  new SessionManager({ store, secret, fallbackSecrets, allowShortSecret: true });
}

async function inspect(
  store: SessionStore,
  sessionKey: string | undefined,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (sessionKey === undefined) {
    err.write('keepstate: inspect needs a session key: keepstate inspect <session key>\n');
    return 2;
  }
  if (!(store.isValidKey?.(sessionKey) ?? isValidSessionKey(sessionKey))) {
    err.write('keepstate: that is not a session key this store issues\n');
    return 2;
  }
  const record = await store.load(sessionKey);
  if (record === null) {
    err.write('No live session has that key.\n');
    return 1;
  }
  const { data, expiresAt } = record;
  out.write(
    `${JSON.stringify({ sessionKey, expiresAt: expiresAt.toISOString(), data }, null, 2)}\n`,
  );
  return 0;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
