/**
 * Runs the example of docs/sharing-sessions-with-django.md (examples/django-interop/) the way
 * the guide says: Django's `manage.py migrate` and `createsuperuser` on a fresh SQLite file,
 * a login through the Django site's own views and middleware, then the Node server on the same
 * file sees the user, fills a cart the Django view shows, and drops the login once the password
 * changes in Django.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNodeServer } from '../../examples/django-interop/create-node-server.js';
import { describeWithDjango, findDjango, runPython } from '../support/django.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/django-interop/', import.meta.url));
const CLIENT = fileURLToPath(new URL('./example_client.py', import.meta.url));
const SECRET = 'example-secret-that-is-long-enough-0123456789';

interface DjangoResponse {
  readonly status: number;
  readonly json: { readonly user: string | null; readonly cart?: string[] } | null;
  readonly cookie: string | null;
}

describeWithDjango(
  'the guide’s example (examples/django-interop)',
  await findDjango('5.2'),
  (peer) => {
    let folder = '';
    let env: Record<string, string> = {};
    let server: Server;
    let node = '';

    /** Steps through the Django site's views (test/interop/example_client.py). */
    const django = async (steps: readonly object[]) =>
      JSON.parse(
        await runPython(peer, [CLIENT], { cwd: EXAMPLE, env, input: JSON.stringify({ steps }) }),
      ) as DjangoResponse[];
    const nodeRequest = async (path: string, cookie: string, method = 'GET') => {
      const response = await fetch(`${node}${path}`, {
        method,
        headers: { cookie: `sessionid=${cookie}` },
        signal: AbortSignal.timeout(10_000),
      });
      return {
        status: response.status,
        json: (await response.json()) as { user: string | null; cart?: string[] },
        setCookie: response.headers.get('set-cookie'),
      };
    };

    before(async () => {
      folder = await mkdtemp(join(tmpdir(), 'keepstate-django-example-'));
      env = { SECRET_KEY: SECRET, SHARED_DATABASE: join(folder, 'shared.sqlite3') };
      await runPython(peer, ['manage.py', 'migrate', '--verbosity', '0'], { cwd: EXAMPLE, env });
      await runPython(
        peer,
        [
          'manage.py',
          'createsuperuser',
          '--noinput',
          '--username',
          'alice',
          '--email',
          'a@example.com',
        ],
        { cwd: EXAMPLE, env: { ...env, DJANGO_SUPERUSER_PASSWORD: 'correct horse' } },
      );
      server = createNodeServer({ secret: SECRET, database: env.SHARED_DATABASE! });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      node = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      await new Promise((resolve) => server?.close(resolve));
      await rm(folder, { recursive: true, force: true });
    });

    it('shares one login and one session between the Django site and the Node server', async () => {
      const [wrong, login] = await django([
        { post: '/login/', data: { username: 'alice', password: 'wrong' } },
        { post: '/login/', data: { username: 'alice', password: 'correct horse' } },
      ]);
      assert.equal(wrong?.status, 401);
      assert.deepEqual(login?.json, { user: 'alice' });
      const cookie = login?.cookie;
      assert.ok(cookie, 'Django set no session cookie');

      assert.deepEqual((await nodeRequest('/api/me', cookie)).json, { user: 'alice', cart: [] });
      const added = await nodeRequest('/api/cart?item=book', cookie, 'POST');
      assert.deepEqual(added.json, { user: 'alice', cart: ['book'] });
      const [me] = await django([{ get: '/me/', cookie }]);
      assert.deepEqual(me?.json, { user: 'alice', cart: ['book'] }, 'Django sees the cart');

      const visitor = await nodeRequest(
        '/api/cart?item=pen',
        'nosuchsessionkeyatall00000000000',
        'POST',
      );
      assert.equal(visitor.status, 401);

      await django([{ set_password: ['alice', 'a new password'] }]);
      const stale = await nodeRequest('/api/me', cookie);
      assert.deepEqual(stale.json, { user: null, cart: [] }, 'the Node server drops the login');
      assert.match(stale.setCookie ?? '', /^sessionid=.*Max-Age=0/i, 'and logs it out, as Django');
      const [after] = await django([{ get: '/me/', cookie }]);
      assert.deepEqual(after?.json, { user: null, cart: [] });
    });

    it('lets a user log out on the Django side and be logged out on the Node side', async () => {
      const [login] = await django([
        { post: '/login/', data: { username: 'alice', password: 'a new password' } },
      ]);
      const cookie = login?.cookie;
      assert.ok(cookie);
      assert.equal((await nodeRequest('/api/me', cookie)).json.user, 'alice');
      const [out] = await django([{ post: '/logout/', cookie }]);
      assert.equal(out?.cookie, '', 'Django deleted its cookie');
      assert.equal((await nodeRequest('/api/me', cookie)).json.user, null);
    });
  },
);
