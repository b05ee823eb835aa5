/**
 * Django logins seen from Node: real Django (5.2 and 3.2) runs `authenticate()` and `login()`
 * on a user of a real auth database (SQLite, migrated by Django), keepstate reads the session
 * from the same file through `SqliteStore`, finds the user with `djangoUser`, and checks the
 * session auth hash against the password hash in Django's `auth_user` table. A password change
 * in Django must make keepstate reject the login, and each side's verdict must be Django's
 * `get_user` verdict.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SessionManager } from '../../src/core/session-manager.js';
import {
  AUTH_SESSION_KEYS,
  djangoUser,
  getDjangoUser,
  sessionAuthHash,
  verifySessionAuthHash,
} from '../../src/django/index.js';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';
import {
  type DjangoOp,
  type DjangoPeer,
  describeWithDjango,
  findDjango,
  runDjango,
} from '../support/django.js';
import {
  type DjangoSessionReport,
  OLD_SECRET,
  recordingLogger,
  SECRET,
} from './engine-round-trips.js';

const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend';

interface UserReport {
  readonly id: string;
  readonly username: string;
  readonly password: string;
}

interface GetUserReport extends DjangoSessionReport {
  readonly user_id: string | null;
}

describe('the auth helpers, on values Django computed', () => {
  const password = 'pbkdf2_sha256$1000000$abc$def=';
  // salted_hmac(key_salt, password, secret=..., algorithm='sha256').hexdigest(), from Django 3.2.
  const hash = '54201113a45958794846a3aacef103b79cbb5f8077f0368cf73052551eb9097c';

  it("computes Django's session auth hash, for any secret", () => {
    assert.equal(sessionAuthHash(password, SECRET), hash);
    assert.equal(
      sessionAuthHash(password, 'ünïcødé secret 😀'),
      '8f16b961f37612960576c9f963ac69af16dbaa1e5213dee345a259358b0d1d9e',
    );
  });

  it('verifies with the secret or a fallback, and refuses anything else', () => {
    const keys = { secret: SECRET };
    assert.equal(verifySessionAuthHash(hash, password, keys), 'secret');
    assert.equal(verifySessionAuthHash({ hash }, password, keys), 'secret');
    assert.equal(
      verifySessionAuthHash(hash, password, { secret: 'new', fallbackSecrets: ['x', SECRET] }),
      'fallback',
    );
    assert.equal(verifySessionAuthHash(hash, `${password}x`, keys), false);
    assert.equal(verifySessionAuthHash(hash.toUpperCase(), password, keys), false);
    assert.equal(verifySessionAuthHash(hash.slice(1), password, keys), false);
    for (const missing of ['', null, undefined, { hash: null }]) {
      assert.equal(verifySessionAuthHash(missing, password, keys), false);
    }
  });

  it('reads a login only when Django could have written it', async () => {
    const login = {
      _auth_user_id: '7',
      _auth_user_backend: MODEL_BACKEND,
      _auth_user_hash: hash,
    };
    assert.deepEqual(await djangoUser(login), { userId: '7', backend: MODEL_BACKEND, hash });
    assert.deepEqual(await djangoUser({ ...login, _auth_user_hash: undefined }), {
      userId: '7',
      backend: MODEL_BACKEND,
      hash: null,
    });
    assert.equal(await djangoUser({ ...login, _auth_user_id: 7 }), null);
    assert.equal(await djangoUser({ ...login, _auth_user_backend: undefined }), null);
    assert.equal(await djangoUser({}), null);
  });
});

for (const release of ['5.2', '3.2'] as const) {
  describeWithDjango(
    `Django ${release} logins read by keepstate`,
    await findDjango(release),
    (peer: DjangoPeer) => {
      let folder = '';
      let database: Database.Database;
      const settings = () =>
        ({
          auth: true,
          database: { engine: 'sqlite', name: join(folder, 'db.sqlite3') },
        }) as const;
      /** Runs Django steps, in order, in one process; fails on any exception. */
      const django = async (ops: readonly DjangoOp[], secret = SECRET) =>
        (await runDjango(peer, { secret, settings: settings(), ops })).results;
      const login = async (username: string, password: string, secret = SECRET) => {
        const [report] = await django([{ op: 'login', engine: 'db', username, password }], secret);
        const { cookie, data } = report as DjangoSessionReport;
        assert.ok(cookie && data, 'Django logged nobody in');
        return { key: cookie.value, data };
      };
      const getUser = async (key: string, options: { fallbacks?: string[] } = {}) => {
        const [report] = await django([{ op: 'get_user', engine: 'db', key, ...options }]);
        return report as GetUserReport;
      };
      const manager = (options: { fallbackSecrets?: string[] } = {}) =>
        new SessionManager({
          store: new SqliteStore(database),
          secret: SECRET,
          logger: recordingLogger(),
          ...options,
        });
      /** What Django's database holds as the user's password hash now: what Node would query. */
      const passwordHashOf = async (userId: string, backend: string) => {
        assert.equal(backend, MODEL_BACKEND);
        const row = database
          .prepare('SELECT password FROM auth_user WHERE id = ? AND is_active')
          .get(userId) as { password: string } | undefined;
        return row?.password ?? null;
      };
      let alice: UserReport;
      let bob: UserReport;

      before(async () => {
        folder = await mkdtemp(join(tmpdir(), `keepstate-django-${release}-auth-`));
        const [, first, second] = await django([
          { op: 'migrate' },
          { op: 'create_user', username: 'alice', password: 'correct horse' },
          { op: 'create_user', username: 'bob', password: 'battery staple' },
        ]);
        alice = first as UserReport;
        bob = second as UserReport;
        database = new Database(join(folder, 'db.sqlite3'), { timeout: 5_000 });
      });

      after(async () => {
        database?.close();
        await rm(folder, { recursive: true, force: true });
      });

      it('sees the user Django logged in, and verifies the hash against the password hash in auth_user', async () => {
        const { key, data } = await login('alice', 'correct horse');
        const session = manager().open(`sessionid=${key}`);
        const user = await djangoUser(session);
        assert.deepEqual(user, {
          userId: alice.id,
          backend: MODEL_BACKEND,
          hash: data[AUTH_SESSION_KEYS.hash],
        });
        const stored = await passwordHashOf(alice.id, MODEL_BACKEND);
        assert.equal(stored, alice.password);
        assert.equal(verifySessionAuthHash(user, alice.password, { secret: SECRET }), 'secret');
        assert.equal(sessionAuthHash(alice.password, SECRET), data[AUTH_SESSION_KEYS.hash]);
        assert.deepEqual(await getDjangoUser(session, { secret: SECRET, passwordHashOf }), user);
        assert.equal(session.modified, false);
        assert.equal((await getUser(key)).user_id, alice.id, 'Django agrees');
      });

      it('rejects the login once the password changed in Django, as Django does', async () => {
        const first = await login('alice', 'correct horse');
        const second = await login('alice', 'correct horse');
        const [changed] = await django([
          { op: 'set_password', username: 'alice', password: 'new password' },
        ]);
        const newHash = (changed as UserReport).password;
        assert.notEqual(newHash, alice.password);

        const m = manager();
        const session = m.open(`sessionid=${second.key}`);
        const user = await djangoUser(session);
        assert.equal(user?.userId, alice.id, 'the session still names alice');
        assert.equal(verifySessionAuthHash(user, newHash, { secret: SECRET }), false);
        assert.equal(verifySessionAuthHash(user, alice.password, { secret: SECRET }), 'secret');
        // getDjangoUser logs the stale login out, as Django's get_user does.
        assert.equal(await getDjangoUser(session, { secret: SECRET, passwordHashOf }), null);
        const { setCookie } = await m.commit(session, 200);
        assert.match(setCookie ?? '', /^sessionid=.*Max-Age=0/i);

        const djangoVerdict = await getUser(first.key);
        assert.equal(djangoVerdict.user_id, null, "Django's get_user rejects it too");
        assert.equal(djangoVerdict.session_key, null, 'and flushes it');
        const afterOurs = await getUser(second.key);
        assert.equal(afterOurs.user_id, null);
        assert.deepEqual(afterOurs.data, {}, 'keepstate deleted the session for Django too');
        alice = { ...alice, password: newHash };
      });

      it('writes a login Django accepts, and neither side accepts a forged hash', async () => {
        const login = async (hash: string) => {
          const m = manager();
          const session = m.open(null);
          await session.update({
            [AUTH_SESSION_KEYS.userId]: bob.id,
            [AUTH_SESSION_KEYS.backend]: MODEL_BACKEND,
            [AUTH_SESSION_KEYS.hash]: hash,
          });
          await m.commit(session, 200);
          assert.ok(session.sessionKey);
          return session.sessionKey;
        };
        const real = await login(sessionAuthHash(bob.password, SECRET));
        const forged = await login(sessionAuthHash('pbkdf2_sha256$1$x$guess', SECRET));
        assert.equal((await getUser(real)).user_id, bob.id);
        assert.equal((await getUser(forged)).user_id, null);
        const session = manager().open(`sessionid=${forged}`);
        assert.equal(
          verifySessionAuthHash(await djangoUser(session), bob.password, { secret: SECRET }),
          false,
        );
      });

      it('reads nobody from a session without a login, or one naming an unknown backend', async () => {
        const m = manager();
        const session = m.open(null);
        await session.update({
          [AUTH_SESSION_KEYS.userId]: bob.id,
          [AUTH_SESSION_KEYS.backend]: 'myapp.backends.Elsewhere',
          [AUTH_SESSION_KEYS.hash]: sessionAuthHash(bob.password, SECRET),
        });
        await m.commit(session, 200);
        assert.ok(session.sessionKey);
        assert.equal(await djangoUser({ cart: [1] }), null);
        const next = m.open(`sessionid=${session.sessionKey}`);
        assert.equal(await getDjangoUser(next, { secret: SECRET, passwordHashOf }), null);
        assert.equal(next.modified, false, 'an unknown backend is anonymous, not logged out');
        const django = await getUser(session.sessionKey);
        assert.equal(django.user_id, null, 'Django agrees');
        assert.equal(django.session_key, session.sessionKey, 'and keeps the session');
      });

      if (peer.release === '3.2') return;

      it('accepts a login made under a secret now in fallbackSecrets, and re-signs it as Django does', async () => {
        const old = await login('bob', 'battery staple', OLD_SECRET);
        const another = await login('bob', 'battery staple', OLD_SECRET);
        const m = manager({ fallbackSecrets: [OLD_SECRET] });
        const session = m.open(`sessionid=${old.key}`);
        assert.equal(
          verifySessionAuthHash(await djangoUser(session), bob.password, {
            secret: SECRET,
            fallbackSecrets: [OLD_SECRET],
          }),
          'fallback',
        );
        const user = await getDjangoUser(session, {
          secret: SECRET,
          fallbackSecrets: [OLD_SECRET],
          passwordHashOf,
        });
        assert.equal(user?.userId, bob.id);
        assert.equal(user?.hash, sessionAuthHash(bob.password, SECRET));
        await m.commit(session, 200);
        assert.ok(session.sessionKey);
        assert.notEqual(session.sessionKey, old.key, 'the key was cycled');
        // Now signed and hashed with the current secret alone: Django needs no fallback.
        assert.equal((await getUser(session.sessionKey)).user_id, bob.id);
        assert.equal((await getUser(old.key)).user_id, null, 'the old key is gone');

        // Django does the same to the other session.
        const djangos = await getUser(another.key, { fallbacks: [OLD_SECRET] });
        assert.equal(djangos.user_id, bob.id);
        assert.notEqual(djangos.session_key, another.key);
        assert.equal(djangos.data?.[AUTH_SESSION_KEYS.hash], sessionAuthHash(bob.password, SECRET));
      });
    },
  );
}
