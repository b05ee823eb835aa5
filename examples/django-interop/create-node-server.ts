import { createServer, type Server } from 'node:http';
import Database from 'better-sqlite3';
import { withSession } from '../../src/adapters/node-http.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { getDjangoUser } from '../../src/django/get-django-user.js';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';

/**
 * Options of {@link createNodeServer}: the settings the Django site has too
 * (`django_site/settings.py`).
 *
 * @see https://docs.djangoproject.com/en/5.2/ref/settings/#sessions
 */
export interface NodeServerOptions {
  /** The Django site's `SECRET_KEY`. */
  readonly secret: string;
  /** Its `SECRET_KEY_FALLBACKS`. */
  readonly fallbackSecrets?: readonly string[];
  /** The SQLite file of its `DATABASES['default']`, which holds `django_session` and `auth_user`. */
  readonly database: string;
}

/** What the Node side keeps in the shared session, beside Django's own keys. */
type CartData = { cart: string[] };

/**
 * The Node half of the example: a JSON API that trusts the Django site's logins. It shares the
 * site's session table (`SqliteStore` on the same file) and secret, finds the logged-in user the
 * way Django's `get_user` does (`getDjangoUser`, which checks the session auth hash against the
 * password hash in `auth_user`), and keeps a cart in the same session, which the Django views
 * read.
 *
 * - `GET /api/me`: `{ user, cart }`, `user` `null` for a visitor Django has not logged in
 * - `POST /api/cart?item=book`: adds an item for a logged-in user (401 otherwise)
 *
 * The server owns the database handle and closes it when it closes.
 *
 * @see ../../docs/sharing-sessions-with-django.md
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-database-backed-sessions
 */
export function createNodeServer(options: NodeServerOptions): Server {
  const database = new Database(options.database, { timeout: 5_000 });
  const sessions = new SessionManager<CartData>({
    store: new SqliteStore(database),
    secret: options.secret,
    fallbackSecrets: options.fallbackSecrets ?? [],
    // SESSION_COOKIE_NAME, _AGE, _PATH and _DOMAIN of the Django site: Django's defaults here.
    cookieName: 'sessionid',
    cookieAge: 1_209_600,
    cookiePath: '/',
  });
  // ModelBackend's get_user: the user, if active; getDjangoUser compares the hash with this.
  const users = database.prepare(
    'SELECT password, username FROM auth_user WHERE id = ? AND is_active = 1',
  );
  const findUser = (userId: string) =>
    users.get(userId) as { password: string; username: string } | undefined;

  const server = createServer(
    withSession(sessions, async (req, res, session) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const login = await getDjangoUser(session, {
        secret: options.secret,
        fallbackSecrets: options.fallbackSecrets ?? [],
        passwordHashOf: async (userId) => findUser(userId)?.password ?? null,
      });
      const username = login ? (findUser(login.userId)?.username ?? null) : null;
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && url.pathname === '/api/me') {
        reply(200, { user: username, cart: await session.get('cart', []) });
      } else if (req.method === 'POST' && url.pathname === '/api/cart') {
        const item = url.searchParams.get('item');
        if (login === null) return reply(401, { error: 'log in on the Django site first' });
        if (!item) return reply(400, { error: 'say which ?item=' });
        const cart = [...(await session.get('cart', [])), item];
        await session.set('cart', cart);
        reply(200, { user: username, cart });
      } else {
        reply(404, { error: 'not found' });
      }
    }),
  );
  server.on('close', () => database.close());
  return server;
}
