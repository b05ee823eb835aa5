/**
 * Signed cookies against real Django 5.2, both ways: `set_signed_cookie` headers read by
 * keepstate's `getSignedCookie`, and keepstate's `setSignedCookie` headers read by Django's
 * `get_signed_cookie` (through Django's own Cookie header parser).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getSignedCookie,
  parseCookie,
  setSignedCookie,
  signCookieValue,
} from '../../src/cookies/index.js';
import { BadSignature, SignatureExpired } from '../../src/signing/index.js';
import { DjangoBatch, describeWithDjango, findDjango, signedAt } from '../support/django.js';
import { clockAt } from './values.js';

const SECRET = 'keepstate-interop-secret';
const OLD_SECRET = 'keepstate-interop-old-secret';

const CASES = [
  { name: 'prefs', value: 'dark', salt: '' },
  { name: 'prefs', value: 'a:b:c', salt: 'my-salt' },
  { name: '__Host-cart', value: '3 items; total "9.50"', salt: 'cart' },
  { name: 'greeting', value: 'héllo wörld', salt: 'ünïcödé' },
  { name: 'emoji', value: 'plain', salt: '🍪😀' },
] as const;

/** The `name=value` pair of a `Set-Cookie` header: what a browser sends back in `Cookie`. */
function cookiePair(setCookie: string): string {
  return setCookie.split('; ')[0]!;
}

/** A `Set-Cookie` header as its `name=value` pair and its sorted attributes, names lower-cased. */
function headerParts(setCookie: string): { pair: string; attributes: string[] } {
  const [pair = '', ...attributes] = setCookie.split('; ');
  const normalized = attributes.map((attribute) => {
    const [name = '', ...value] = attribute.split('=');
    return [name.toLowerCase(), ...value].join('=');
  });
  return { pair, attributes: normalized.sort() };
}

const django = await findDjango('5.2');

describeWithDjango('signed cookies against Django 5.2', django, (peer) => {
  const batch = new DjangoBatch(peer, { secret: SECRET });

  it('talks to Django with the v2 signed-cookie salt', async () => {
    assert.equal((await batch.about()).features.cookie_salt_v2, true);
  });

  describe('Django sets, keepstate gets', () => {
    for (const { name, value, salt } of CASES) {
      const set = batch.add({ op: 'set_signed_cookie', name, value, salt, max_age: 3600 });

      it(`reads ${name} (salt ${JSON.stringify(salt)}) and signs it the same`, async () => {
        const { value: signed, header } = (await set.result()) as { value: string; header: string };
        const cookies = parseCookie(cookiePair(header));
        const options = { secret: SECRET, salt, maxAge: 60 };
        assert.equal(getSignedCookie(cookies, name, options), value);
        assert.equal(
          getSignedCookie(cookies, name, { ...options, legacySaltFallback: false }),
          value,
        );
        assert.equal(
          signCookieValue(name, value, { secret: SECRET, salt, clock: () => signedAt(signed) }),
          signed,
        );
      });
    }

    const attributes = { path: '/', secure: true, httponly: true, samesite: 'Lax' } as const;
    const withAttributes = batch.add({
      op: 'set_signed_cookie',
      name: 'prefs',
      value: 'dark',
      salt: 'ui',
      ...attributes,
    });

    it('writes the same Set-Cookie header as Django for the same second, but for attribute order', async () => {
      const { value: signed, header } = (await withAttributes.result()) as {
        value: string;
        header: string;
      };
      const mine = setSignedCookie('prefs', 'dark', {
        secret: SECRET,
        salt: 'ui',
        path: '/',
        secure: true,
        httpOnly: true,
        sameSite: 'Lax',
        clock: () => signedAt(signed),
      });
      // Django sorts the attributes by name (Morsel.OutputString); keepstate writes them in the
      // `cookie` package's order, which browsers treat the same.
      assert.deepEqual(headerParts(mine), headerParts(header));
    });

    const fromDjango = batch.add({
      op: 'set_signed_cookie',
      name: 'prefs',
      value: 'dark',
      salt: 'ui',
    });

    it("rejects Django's cookie under another name, salt or secret, changed, or too old", async () => {
      const { value: signed } = (await fromDjango.result()) as { value: string };
      const read = (cookies: Record<string, string>, name: string, options: object = {}) =>
        getSignedCookie(cookies, name, { secret: SECRET, salt: 'ui', ...options });
      assert.equal(read({ prefs: signed }, 'prefs'), 'dark');
      assert.throws(() => read({ theme: signed }, 'theme'), BadSignature);
      assert.throws(() => read({ prefs: signed }, 'prefs', { salt: 'other' }), BadSignature);
      assert.throws(() => read({ prefs: signed }, 'prefs', { secret: OLD_SECRET }), BadSignature);
      assert.throws(() => read({ prefs: `light${signed.slice(4)}` }, 'prefs'), BadSignature);
      assert.throws(
        () => read({ prefs: signed }, 'prefs', { maxAge: 10, clock: clockAt(100) }),
        SignatureExpired,
      );
    });
  });

  describe('keepstate sets, Django gets', () => {
    for (const { name, value, salt } of CASES) {
      const header = () => setSignedCookie(name, value, { secret: SECRET, salt, maxAge: 3600 });
      const read = batch.add(() => ({
        op: 'get_signed_cookie',
        name,
        salt,
        max_age: 60,
        cookie_header: `other=1; ${cookiePair(header())}`,
      }));
      const readWithoutLegacyFallback = batch.add(() => ({
        op: 'get_signed_cookie',
        name,
        salt,
        legacy_salt_fallback: false,
        cookie_header: cookiePair(header()),
      }));

      it(`is read by Django: ${name} (salt ${JSON.stringify(salt)})`, async () => {
        assert.equal(await read.result(), value);
        assert.equal(await readWithoutLegacyFallback.result(), value);
      });
    }

    const sign = (name: string, salt: string, options: object = {}) =>
      signCookieValue(name, 'dark', { secret: SECRET, salt, ...options });
    const refused = {
      'another name': batch.add(() => ({
        op: 'get_signed_cookie',
        name: 'theme',
        salt: 'ui',
        value: sign('prefs', 'ui'),
      })),
      'another salt': batch.add(() => ({
        op: 'get_signed_cookie',
        name: 'prefs',
        salt: 'x',
        value: sign('prefs', 'ui'),
      })),
      'another secret': batch.add(() => ({
        op: 'get_signed_cookie',
        name: 'prefs',
        salt: 'ui',
        secret: OLD_SECRET,
        value: sign('prefs', 'ui'),
      })),
      'a changed value': batch.add(() => ({
        op: 'get_signed_cookie',
        name: 'prefs',
        salt: 'ui',
        value: `light${sign('prefs', 'ui').slice(4)}`,
      })),
      // (a, bc) and (ab, c) share the legacy salt "abc"; the v2 salt keeps them apart.
      'the colliding name and salt pair': batch.add(() => ({
        op: 'get_signed_cookie',
        name: 'ab',
        salt: 'c',
        value: sign('a', 'bc'),
      })),
    };
    const expired = batch.add(() => ({
      op: 'get_signed_cookie',
      name: 'prefs',
      salt: 'ui',
      max_age: 10,
      value: sign('prefs', 'ui', { clock: clockAt(-1000) }),
    }));

    for (const [label, call] of Object.entries(refused)) {
      it(`is refused by Django under ${label}`, async () => {
        assert.equal((await call.error()).type, 'BadSignature');
      });
    }

    it('is refused by Django when older than max_age', async () => {
      assert.equal((await expired.error()).type, 'SignatureExpired');
    });
  });

  describe('key rotation', () => {
    const setWithOldKey = batch.add({
      op: 'set_signed_cookie',
      name: 'prefs',
      value: 'dark',
      salt: 'ui',
      secret: OLD_SECRET,
    });

    it('reads a cookie Django set with a key now in fallbackSecrets', async () => {
      const { header } = (await setWithOldKey.result()) as { header: string };
      const cookies = parseCookie(cookiePair(header));
      const options = { secret: SECRET, salt: 'ui' };
      assert.equal(
        getSignedCookie(cookies, 'prefs', { ...options, fallbackSecrets: [OLD_SECRET] }),
        'dark',
      );
      assert.throws(() => getSignedCookie(cookies, 'prefs', options), BadSignature);
    });

    const oldCookie = () => signCookieValue('prefs', 'dark', { secret: OLD_SECRET, salt: 'ui' });
    const readWithFallback = batch.add(() => ({
      op: 'get_signed_cookie',
      name: 'prefs',
      salt: 'ui',
      fallbacks: [OLD_SECRET],
      value: oldCookie(),
    }));
    const readWithoutFallback = batch.add(() => ({
      op: 'get_signed_cookie',
      name: 'prefs',
      salt: 'ui',
      value: oldCookie(),
    }));

    it('has a cookie set with an old key read by Django through SECRET_KEY_FALLBACKS', async () => {
      assert.equal(await readWithFallback.result(), 'dark');
      assert.equal((await readWithoutFallback.error()).type, 'BadSignature');
    });
  });
});
