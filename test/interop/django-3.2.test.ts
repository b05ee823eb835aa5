/**
 * keepstate reads what Django 3.2 (Debian's python3-django) writes: signatures, dumps, session
 * data, and signed cookies with the legacy `name + salt` salt, which keepstate's 5.2-compatible
 * `getSignedCookie` accepts through its legacy fallback. A few checks go the other way, to show
 * where a 3.2 app can and cannot read what keepstate writes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getSignedCookie, parseCookie, signCookieValue } from '../../src/cookies/index.js';
import { decodeSessionData, encodeSessionData } from '../../src/core/session-codec.js';
import {
  BadSignature,
  dumps,
  loads,
  SignatureExpired,
  Signer,
  TimestampSigner,
} from '../../src/signing/index.js';
import { DjangoBatch, describeWithDjango, findDjango, signedAt } from '../support/django.js';
import { clockAt, DUMPS_CASES, LARGE_VALUE, SESSION_DATA, saltLabel, withSalt } from './values.js';

const SECRET = 'keepstate-interop-secret';
const SALTS = [undefined, 'my-salt', '🍪 emoji 😀 salt'] as const;
const VALUES = ['hello', 'a:b:c', 'héllo 中文 😀'];
const COOKIE_SESSION_SALT = 'django.contrib.sessions.backends.signed_cookies';

const django = await findDjango('3.2');

describeWithDjango('reading Django 3.2', django, (peer) => {
  const batch = new DjangoBatch(peer, { secret: SECRET });

  it('talks to Django 3.2, which has neither key fallbacks nor the v2 cookie salt', async () => {
    const about = await batch.about();
    assert.match(about.django_version, /^3\.2\./);
    assert.deepEqual(about.features, {
      secret_key_fallbacks: false,
      cookie_salt_v2: false,
      expiry_isoformat: false,
    });
  });

  describe('Signer and TimestampSigner', () => {
    for (const salt of SALTS) {
      const signed = VALUES.map((value) => batch.add({ op: 'sign', value, ...withSalt(salt) }));
      const timestamped = VALUES.map((value) =>
        batch.add({ op: 'sign', timestamp: true, value, ...withSalt(salt) }),
      );

      it(`reads and reproduces 3.2's signatures, ${saltLabel(salt)}`, async () => {
        const signer = new Signer({ secret: SECRET, ...withSalt(salt) });
        const tokens = (await Promise.all(signed.map((call) => call.result()))) as string[];
        assert.deepEqual(
          tokens.map((token) => signer.unsign(token)),
          VALUES,
        );
        assert.deepEqual(
          VALUES.map((value) => signer.sign(value)),
          tokens,
        );
      });

      it(`reads and reproduces 3.2's timestamped signatures, ${saltLabel(salt)}`, async () => {
        const tokens = (await Promise.all(timestamped.map((call) => call.result()))) as string[];
        const signerAt = (token: string) =>
          new TimestampSigner({ secret: SECRET, ...withSalt(salt), clock: () => signedAt(token) });
        assert.deepEqual(
          tokens.map((token) => signerAt(token).unsign(token, 60)),
          VALUES,
        );
        assert.deepEqual(
          VALUES.map((value, i) => signerAt(tokens[i]!).sign(value)),
          tokens,
        );
      });
    }
  });

  describe('dumps and loads', () => {
    for (const { label, value } of DUMPS_CASES) {
      for (const compress of [false, true]) {
        const dumped = batch.add({ op: 'dumps', value, compress });

        it(`loads what 3.2 dumps: ${label}${compress ? ', compressed' : ''}`, async () => {
          assert.deepEqual(loads((await dumped.result()) as string, { secret: SECRET }), value);
        });
      }
    }

    const large = batch.add({ op: 'dumps', value: LARGE_VALUE, compress: true });
    const loadedBy32 = batch.add(() => ({
      op: 'loads',
      value: dumps(LARGE_VALUE, { secret: SECRET, compress: true }),
    }));

    it('loads a compressed value from 3.2, and 3.2 loads a compressed one from keepstate', async () => {
      const token = (await large.result()) as string;
      assert.match(token, /^\./);
      assert.deepEqual(loads(token, { secret: SECRET }), LARGE_VALUE);
      assert.deepEqual(await loadedBy32.result(), LARGE_VALUE);
    });
  });

  describe('session data', () => {
    for (const [label, data] of [
      ['a logged-in session', SESSION_DATA],
      ['a large session', LARGE_VALUE],
    ] as const) {
      const encoded = batch.add({ op: 'session_encode', data });
      const cookie = batch.add({ op: 'cookie_session_encode', data });
      const decodedBy32 = batch.add(() => ({
        op: 'session_decode',
        value: encodeSessionData(data, { secret: SECRET }),
      }));

      it(`decodes 3.2's SessionStore.encode: ${label}`, async () => {
        assert.deepEqual(
          decodeSessionData((await encoded.result()) as string, { secret: SECRET }),
          data,
        );
      });

      it(`reads 3.2's signed_cookies session cookie: ${label}`, async () => {
        const value = (await cookie.result()) as string;
        assert.deepEqual(
          loads(value, { secret: SECRET, salt: COOKIE_SESSION_SALT, maxAge: 1_209_600 }),
          data,
        );
      });

      it(`encodes session data 3.2 decodes: ${label}`, async () => {
        assert.deepEqual(await decodedBy32.result(), data);
      });
    }
  });

  describe('signed cookies with the legacy salt', () => {
    const set = batch.add({ op: 'set_signed_cookie', name: 'prefs', value: 'dark', salt: 'ui' });
    const setUnsalted = batch.add({ op: 'set_signed_cookie', name: 'prefs', value: 'dark' });

    it("reads 3.2's cookies through the legacy salt fallback, and only through it", async () => {
      for (const [call, salt] of [
        [set, 'ui'],
        [setUnsalted, ''],
      ] as const) {
        const { header } = (await call.result()) as { header: string };
        const cookies = parseCookie(header.split('; ')[0]);
        assert.equal(getSignedCookie(cookies, 'prefs', { secret: SECRET, salt }), 'dark');
        assert.throws(
          () =>
            getSignedCookie(cookies, 'prefs', { secret: SECRET, salt, legacySaltFallback: false }),
          BadSignature,
        );
      }
    });

    it("still accepts 3.2's (ab, c) cookie as (a, bc) while the legacy fallback is on, as Django 5.2 does", async () => {
      const { value } = (await set.result()) as { value: string };
      // Django 3.2 salted with name + salt: "prefs" + "ui" === "pref" + "sui".
      assert.equal(
        getSignedCookie({ pref: value }, 'pref', { secret: SECRET, salt: 'sui' }),
        'dark',
      );
    });

    it("expires 3.2's cookies by maxAge", async () => {
      const { value } = (await set.result()) as { value: string };
      assert.throws(
        () =>
          getSignedCookie({ prefs: value }, 'prefs', {
            secret: SECRET,
            salt: 'ui',
            maxAge: 10,
            clock: clockAt(100),
          }),
        SignatureExpired,
      );
    });

    const readBy32 = batch.add(() => ({
      op: 'get_signed_cookie',
      name: 'prefs',
      salt: 'ui',
      value: signCookieValue('prefs', 'dark', { secret: SECRET, salt: 'ui' }),
    }));

    it('writes v2 cookies, which 3.2 cannot read', async () => {
      assert.equal((await readBy32.error()).type, 'BadSignature');
    });
  });
});
