import { spawn } from 'node:child_process';

/** One thing real Django does to an SQLite database, through its own `db` session engine. */
export type DjangoDbOp =
  /** `manage.py migrate sessions [args]`; returns null. */
  | { readonly op: 'migrate'; readonly args?: readonly string[] }
  /** A new session holding `data` (`SessionStore().create()`); returns its key. */
  | { readonly op: 'create'; readonly data: Record<string, unknown> }
  /** `SessionStore(session_key=key).load()`; returns the data. */
  | { readonly op: 'load'; readonly key: string }
  /** Updates a session's data and saves it; returns null. */
  | { readonly op: 'update'; readonly key: string; readonly data: Record<string, unknown> }
  /** `manage.py clearsessions`; returns null. */
  | { readonly op: 'clearsessions' }
  /** The `django_session` objects of `sqlite_master`; returns `[type, name, sql][]`. */
  | { readonly op: 'schema' };

// Django configured in-process on the database file; one op per line of JSON on stdin, one
// result per line on stdout.
const SCRIPT = `
import json, sys
import django
from django.conf import settings
request = json.loads(sys.stdin.read())
settings.configure(
    SECRET_KEY=request["secret"],
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": request["database"]}},
    SESSION_ENGINE="django.contrib.sessions.backends.db",
)
django.setup()
from django.core.management import call_command
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
results = []
for op in request["ops"]:
    kind = op["op"]
    if kind == "migrate":
        call_command("migrate", "sessions", *op.get("args", []), verbosity=0)
        results.append(None)
    elif kind == "create":
        s = SessionStore()
        s.update(op["data"])
        s.create()
        results.append(s.session_key)
    elif kind == "load":
        results.append(SessionStore(session_key=op["key"]).load())
    elif kind == "update":
        s = SessionStore(session_key=op["key"])
        s.update(op["data"])
        s.save()
        results.append(None)
    elif kind == "clearsessions":
        call_command("clearsessions")
        results.append(None)
    elif kind == "schema":
        with connection.cursor() as cursor:
            cursor.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'django_session' ORDER BY name")
            results.append([list(row) for row in cursor.fetchall()])
print(json.dumps({"django": django.get_version(), "results": results}))
`;

/**
 * Runs `ops` with real Django (the interpreter `python`) on the SQLite file `database`, signing
 * with `secret`; resolves to each op's result. Django's clock is the real one.
 *
 * @throws when Python fails or runs longer than a minute
 */
export function djangoOnSqlite(
  python: string,
  database: string,
  secret: string,
  ops: readonly DjangoDbOp[],
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: '' },
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`Django exited with ${code ?? signal}:\n${stderr}`));
        return;
      }
      resolve((JSON.parse(stdout) as { results: unknown[] }).results);
    });
    child.stdin.end(JSON.stringify({ database, secret, ops }));
  });
}
