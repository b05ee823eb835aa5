/**
 * Session data against real Django 5.2, both ways: `SessionStore().encode()` of the db, cache and
 * file engines, and the cookie value of the signed_cookies engine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecurityLogger } from '../../src/core/security-logger.js';
import { decodeSessionData, encodeSessionData } from '../../src/core/session-codec.js';
import { dumps, loads, SignatureExpired } from '../../src/signing/index.js';
import { DjangoBatch, describeWithDjango, findDjango, signedAt } from '../support/django.js';
import { LARGE_VALUE, SESSION_DATA } from './values.js';

const SECRET = 'keepstate-interop-secret';
const OLD_SECRET = 'keepstate-interop-old-secret';
/** The salt of `django.contrib.sessions.backends.signed_cookies`. */
const COOKIE_SESSION_SALT = 'django.contrib.sessions.backends.signed_cookies';
/** Django's default `SESSION_COOKIE_AGE`, which the signed_cookies engine uses as max_age. */
const COOKIE_AGE = 1_209_600;

const SESSIONS: readonly { readonly label: string; readonly data: Record<string, unknown> }[] = [
  { label: 'an empty session', data: {} },
  { label: 'a logged-in session', data: SESSION_DATA },
  { label: 'a large session', data: LARGE_VALUE },
];

/** A security logger that remembers its warnings. */
function recordingLogger(): SecurityLogger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (message) => warnings.push(message) };
}

function tamper(token: string): string {
  return (token.startsWith('X') ? 'Y' : 'X') + token.slice(1);
}

const django = await findDjango('5.2');

describeWithDjango('session data against Django 5.2', django, (peer) => {
  const batch = new DjangoBatch(peer, { secret: SECRET });

  describe('db, cache and file engines (SessionStore.encode/decode)', () => {
    for (const { label, data } of SESSIONS) {
      const fromDjango = batch.add({ op: 'session_encode', data });
      const toDjango = batch.add(() => ({
        op: 'session_decode',
        value: encodeSessionData(data, { secret: SECRET }),
      }));

      it(`decodes what Django encodes: ${label}`, async () => {
        const token = (await fromDjango.result()) as string;
        assert.deepEqual(decodeSessionData(token, { secret: SECRET }), data);
      });

      it(`encodes what Django decodes: ${label}`, async () => {
        assert.deepEqual(await toDjango.result(), data);
      });
    }

    const small = batch.add({ op: 'session_encode', data: { a: 1 } });

    it('encodes a small session to the same bytes as Django at the same second', async () => {
      const token = (await small.result()) as string;
      assert.equal(
        encodeSessionData({ a: 1 }, { secret: SECRET, clock: () => signedAt(token) }),
        token,
      );
    });

    const large = batch.add({ op: 'session_encode', data: LARGE_VALUE });

    it('compresses a large session, as Django does', async () => {
      assert.match((await large.result()) as string, /^\./);
      assert.match(encodeSessionData(LARGE_VALUE, { secret: SECRET }), /^\./);
    });

    const fromDjangoToTamper = batch.add({ op: 'session_encode', data: SESSION_DATA });

    it("gives an empty session, with a warning, for Django's data once changed", async () => {
      const token = (await fromDjangoToTamper.result()) as string;
      const logger = recordingLogger();
      assert.deepEqual(decodeSessionData(tamper(token), { secret: SECRET, logger }), {});
      assert.deepEqual(decodeSessionData(token, { secret: OLD_SECRET, logger }), {});
      assert.equal(logger.warnings.length, 2);
    });

    const refusedByDjango = [
      batch.add(() => ({
        op: 'session_decode',
        value: tamper(encodeSessionData(SESSION_DATA, { secret: SECRET })),
      })),
      batch.add(() => ({
        op: 'session_decode',
        value: encodeSessionData(SESSION_DATA, { secret: SECRET, salt: 'another.salt' }),
      })),
      batch.add(() => ({ op: 'session_decode', value: 'not a session at all' })),
    ];

    it('has changed or foreign data read by Django as an empty session', async () => {
      const decoded = await Promise.all(refusedByDjango.map((call) => call.result()));
      assert.deepEqual(decoded, [{}, {}, {}]);
    });
  });

  describe('numbers', () => {
    const fromDjango = batch.add({
      op: 'session_encode',
      data: { one: 1, half: 1.5 },
      ints: { big: '9007199254740993', max: '9007199254740991' },
    });
    // A batch of its own: it waits for Django's answer above before keepstate re-encodes it.
    const resaved = new DjangoBatch(peer, { secret: SECRET }).add(async () => {
      const token = (await fromDjango.result()) as string;
      const data = decodeSessionData(token, { secret: SECRET });
      return {
        op: 'session_decode',
        repr: true,
        value: encodeSessionData(data, { secret: SECRET }),
      };
    });
    it('keeps every int up to 2**53 - 1 and every non-integral float through a keepstate save', async () => {
      const reprs = (await resaved.result()) as Record<string, string>;
      assert.equal(reprs.max, '9007199254740991');
      assert.equal(reprs.half, '1.5');
      // JavaScript has one number type: Python's 1 and 1.0 both come back as the int 1.
      assert.equal(reprs.one, '1');
    });

    it('keeps a Python int beyond 2**53 through a keepstate save (as a bigint)', async () => {
      const reprs = (await resaved.result()) as Record<string, string>;
      assert.equal(reprs.big, '9007199254740993');
    });
  });

  describe('key rotation', () => {
    const encodedWithOldKey = batch.add({
      op: 'session_encode',
      data: SESSION_DATA,
      secret: OLD_SECRET,
    });

    it('decodes a session Django encoded with a key now in fallbackSecrets', async () => {
      const token = (await encodedWithOldKey.result()) as string;
      const logger = recordingLogger();
      assert.deepEqual(
        decodeSessionData(token, { secret: SECRET, fallbackSecrets: [OLD_SECRET], logger }),
        SESSION_DATA,
      );
      assert.deepEqual(decodeSessionData(token, { secret: SECRET, logger }), {});
    });

    const oldSession = () => encodeSessionData(LARGE_VALUE, { secret: OLD_SECRET });
    const withFallback = batch.add(() => ({
      op: 'session_decode',
      value: oldSession(),
      fallbacks: [OLD_SECRET],
    }));
    const withoutFallback = batch.add(() => ({ op: 'session_decode', value: oldSession() }));

    it('has a session encoded with an old key decoded by Django through SECRET_KEY_FALLBACKS', async () => {
      assert.deepEqual(await withFallback.result(), LARGE_VALUE);
      assert.deepEqual(await withoutFallback.result(), {});
    });
  });

  describe('signed_cookies engine', () => {
    for (const { label, data } of SESSIONS) {
      const fromDjango = batch.add({ op: 'cookie_session_encode', data });
      const toDjango = batch.add(() => ({
        op: 'cookie_session_decode',
        value: dumps(data, { secret: SECRET, salt: COOKIE_SESSION_SALT, compress: true }),
      }));

      it(`reads the cookie Django writes: ${label}`, async () => {
        const value = (await fromDjango.result()) as string;
        const options = { secret: SECRET, salt: COOKIE_SESSION_SALT, maxAge: COOKIE_AGE };
        assert.deepEqual(loads(value, options), data);
      });

      it(`writes a cookie Django reads: ${label}`, async () => {
        assert.deepEqual(await toDjango.result(), data);
      });
    }

    const tooOld = batch.add(() => ({
      op: 'cookie_session_decode',
      value: dumps(SESSION_DATA, {
        secret: SECRET,
        salt: COOKIE_SESSION_SALT,
        compress: true,
        clock: () => new Date(Date.now() - (COOKIE_AGE + 100) * 1000),
      }),
    }));
    const fromDjango = batch.add({ op: 'cookie_session_encode', data: SESSION_DATA });

    it('agrees with Django that the cookie expires after SESSION_COOKIE_AGE', async () => {
      assert.deepEqual(await tooOld.result(), {});
      const value = (await fromDjango.result()) as string;
      const later = () => new Date(Date.now() + (COOKIE_AGE + 100) * 1000);
      assert.throws(
        () =>
          loads(value, {
            secret: SECRET,
            salt: COOKIE_SESSION_SALT,
            maxAge: COOKIE_AGE,
            clock: later,
          }),
        SignatureExpired,
      );
    });
  });
});
