import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CookieNotFound,
  deleteCookie,
  getSignedCookie,
  parseCookie,
  readSignedCookie,
  serializeCookie,
  setSignedCookie,
  signCookieValue,
} from '../../src/cookies/index.js';
import { COOKIE_SIZE_LIMIT, CookieJar } from '../../src/core/cookie-jar.js';
import { CookieTooLarge } from '../../src/core/errors.js';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import type { Clock } from '../../src/signing/clock.js';
import { BadSignature, SignatureExpired, TimestampSigner } from '../../src/signing/index.js';
import { prng } from '../support/prng.js';

const NOW = 1_700_000_000;
const at =
  (seconds: number): Clock =>
  () =>
    new Date(seconds * 1000);
const secret = 'behaviour-test-secret';

function cookiesOf(entries: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null), entries);
}

describe('parseCookie', () => {
  const pieces = [
    '=',
    ';',
    '; ',
    ' ',
    '\t',
    '"',
    '\\',
    '\\"',
    '\\351',
    '\\400',
    '\\12',
    'a',
    'sessionid',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '$Version',
    '\u0085',
    '\u00a0',
    '\ufeff',
    '\u00c3\u00a9', // UTF-8 of "é" as Node gives it: one Latin-1 character per byte
    '\u00ff\u00fe\u0080', // bytes that are not valid UTF-8
    '\u0000',
    '\r\n',
  ];

  function randomHeader(random: () => number): string {
    if (random() < 0.01) return `a="${'x'.repeat(100_000 + Math.floor(random() * 1000))}`;
    let header = '';
    const count = Math.floor(random() * 40);
    for (let index = 0; index < count; index++) {
      header +=
        random() < 0.7
          ? (pieces[Math.floor(random() * pieces.length)] ?? '')
          : String.fromCharCode(Math.floor(random() * 256));
    }
    return header;
  }

  test('never throws on 2,000 random malformed headers and always returns a null-prototype record', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const header = randomHeader(prng(seed));
      let parsed: Record<string, string> | undefined;
      assert.doesNotThrow(() => {
        parsed = parseCookie(header);
      }, `seed ${seed}`);
      assert.ok(parsed);
      assert.equal(Object.getPrototypeOf(parsed), null, `seed ${seed}`);
      for (const [name, value] of Object.entries(parsed)) {
        assert.equal(typeof value, 'string', `seed ${seed}`);
        assert.equal(name, name.replace(/^[ \t]+|[ \t]+$/g, ''), `seed ${seed}`);
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('prototype names are plain entries and do not pollute', () => {
    const parsed = parseCookie('__proto__=x; constructor=y; toString=z; polluted=1');
    assert.equal(Object.getPrototypeOf(parsed), null);
    assert.deepEqual(Object.keys(parsed), ['__proto__', 'constructor', 'toString', 'polluted']);
    assert.equal(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value, 'x');
    assert.equal(parsed.constructor, 'y');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });

  test('missing headers give an empty null-prototype record', () => {
    for (const header of [undefined, null, '', ';', ' ; ; ']) {
      const parsed = parseCookie(header);
      assert.equal(Object.getPrototypeOf(parsed), null);
      assert.deepEqual(Object.keys(parsed), []);
    }
    assert.deepEqual(Object.keys(parseCookie(42 as unknown as string)), []);
  });

  test('a duplicate name: the last value wins, as in Django', () => {
    assert.equal(parseCookie('sessionid=first; sessionid=second').sessionid, 'second');
  });

  test('values are stripped of Python whitespace, not JS whitespace, as in Django', () => {
    assert.deepEqual({ ...parseCookie('a=\u00a0\u00851\u001c\u3000') }, { a: '1' });
    assert.deepEqual({ ...parseCookie('a=1\ufeff') }, { a: '1\ufeff' });
  });

  test('names are trimmed of space and tab only: no Unicode-whitespace __Host- bypass', () => {
    assert.deepEqual({ ...parseCookie(' \t__Host-id\t =1') }, { '__Host-id': '1' });
    // Django strips these too, so a cookie a browser never treated as __Host- (anyone on a
    // subdomain or plain HTTP can set it) would be read as one.
    for (const space of ['\u00a0', '\u0085', '\u000b', '\u000c', '\u001c', '\u001f', '\r', '\n']) {
      const parsed = parseCookie(`${space}__Host-id=forged; x=1`);
      assert.equal(parsed['__Host-id'], undefined, JSON.stringify(space));
      assert.equal(parsed[`${space}__Host-id`], 'forged', JSON.stringify(space));
      assert.equal(parseCookie(`__Host-id${space}=forged`)['__Host-id'], undefined);
    }
  });

  test('unquotes like Python: escapes, octal bytes, stray backslashes', () => {
    assert.equal(parseCookie('a="\\101\\\\\\q"').a, 'A\\q');
    assert.equal(parseCookie('a="\\400"').a, '400'); // not octal: "\4" is an escaped "4"
    assert.equal(parseCookie('a="x\\"').a, 'x\\');
    assert.equal(parseCookie('a="x\\\ny"').a, 'x\\\ny');
    assert.equal(parseCookie('a="').a, '"');
    assert.equal(parseCookie('a=""').a, '');
    assert.equal(parseCookie('a=%41').a, '%41'); // no percent-decoding
  });

  test('handles pathological headers (runs in linear time; no timing assertion, see bench/)', () => {
    const parsed = parseCookie(`${';'.repeat(200_000)}=`);
    assert.deepEqual({ ...parsed }, {});
    const many = parseCookie(
      Array.from({ length: 50_000 }, (_, i) => `c${i}="\\${i % 4}00"`).join(';'),
    );
    assert.equal(Object.keys(many).length, 50_000);
  });
});

describe('serializeCookie', () => {
  test('writes Django quoting and the attributes', () => {
    assert.equal(serializeCookie('foo', 'bar'), 'foo=bar; Path=/');
    assert.equal(serializeCookie('foo', '', { path: null }), 'foo=""');
    assert.equal(serializeCookie('foo', 'a;b "c"', { path: null }), 'foo="a\\073b \\"c\\""');
  });

  test('invalid names throw a TypeError that names the cookie', () => {
    for (const name of ['', 'bad name', 'a;b', 'a=b', 'a,b', 'é', 'a"b', 'a\nb']) {
      assert.throws(
        () => serializeCookie(name, 'v'),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^Cookie name .* is invalid/);
          assert.ok(error.message.includes(JSON.stringify(name)));
          return true;
        },
      );
    }
    for (const name of ['expires', 'Path', 'MAX-AGE', 'secure', 'HttpOnly', 'samesite', 'domain']) {
      assert.throws(() => serializeCookie(name, 'v'), /Cookie name .* is reserved/);
    }
  });

  test('option errors name the option', () => {
    const cases: [Parameters<typeof serializeCookie>[2], RegExp][] = [
      [{ sameSite: 'sometimes' as never }, /sameSite/],
      [{ sameSite: true as never }, /sameSite/],
      [{ maxAge: Number.NaN }, /maxAge/],
      [{ maxAge: Number.POSITIVE_INFINITY }, /maxAge/],
      [{ maxAge: 1e20 }, /maxAge/],
      [{ maxAge: '60' as never }, /maxAge/],
      [{ expires: new Date(Number.NaN) }, /expires/],
      [{ expires: 'Tue; Secure' }, /expires/],
      [{ expires: 'x\r\nSet-Cookie: evil=1' }, /expires/],
      [{ expires: 12 as never }, /expires/],
      [{ expires: new Date(), maxAge: 5 }, /'expires'.*'maxAge'/],
      [{ domain: 'bad domain' }, /domain/],
      [{ path: '/a;b' }, /path/],
      [{ priority: 'urgent' as never }, /priority/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => serializeCookie('foo', 'bar', options),
        (error: unknown) => {
          assert.ok(error instanceof TypeError, String(error));
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  test('sameSite is validated in any case and written as given; false omits it', () => {
    for (const sameSite of ['Lax', 'lax', 'Strict', 'strict', 'None', 'none'] as const) {
      assert.equal(serializeCookie('a', 'b', { sameSite }), `a=b; Path=/; SameSite=${sameSite}`);
    }
    assert.equal(
      serializeCookie('a', 'b', { sameSite: 'NONE' as never }),
      'a=b; Path=/; SameSite=NONE',
    );
    assert.equal(serializeCookie('a', 'b', { sameSite: false }), 'a=b; Path=/');
  });

  test('emits Partitioned and Priority (beyond Django)', () => {
    const header = serializeCookie('a', 'b', { secure: true, partitioned: true, priority: 'high' });
    assert.match(header, /; Partitioned(;|$)/);
    assert.match(header, /; Priority=High(;|$)/);
    assert.match(header, /; Secure(;|$)/);
    assert.doesNotMatch(serializeCookie('a', 'b', { partitioned: false }), /Partitioned/);
  });

  test('maxAge writes Max-Age and expires from the clock; a Date expires becomes maxAge', () => {
    const clock = at(NOW);
    assert.equal(
      serializeCookie('a', 'b', { clock, maxAge: 60.9, path: null }),
      'a=b; Max-Age=60; Expires=Tue, 14 Nov 2023 22:14:20 GMT',
    );
    assert.equal(
      serializeCookie('a', 'b', { clock, maxAge: -0.5, path: null }),
      'a=b; Max-Age=0; Expires=Tue, 14 Nov 2023 22:13:19 GMT',
    );
    assert.equal(
      serializeCookie('a', 'b', { clock, expires: new Date((NOW + 10) * 1000), path: null }),
      'a=b; Max-Age=11; Expires=Tue, 14 Nov 2023 22:13:31 GMT',
    );
    assert.equal(
      serializeCookie('a', 'b', { clock, expires: '', maxAge: 1, path: null }),
      'a=b; Max-Age=1; Expires=Tue, 14 Nov 2023 22:13:21 GMT',
    );
  });

  test('never reads the clock when no date is computed', () => {
    const clock: Clock = () => assert.fail('clock read');
    assert.equal(
      serializeCookie('a', 'b', { clock, expires: 'x', maxAge: 3 }),
      'a=b; Max-Age=3; Path=/; Expires=x',
    );
  });
});

describe('deleteCookie', () => {
  test('expires the cookie at the epoch with Max-Age=0 and an empty value', () => {
    assert.equal(
      deleteCookie('foo'),
      'foo=""; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });

  test('forces Secure for __Host- and __Secure- names and for SameSite=None in any case', () => {
    for (const [name, options] of [
      ['__Host-id', {}],
      ['__Secure-id', {}],
      ['id', { sameSite: 'None' }],
      ['id', { sameSite: 'none' }],
    ] as const) {
      assert.match(deleteCookie(name, options), /; Secure(;|$)/, name);
    }
    for (const options of [{}, { sameSite: 'Lax' as const }, { sameSite: false as const }]) {
      assert.doesNotMatch(deleteCookie('id', options), /Secure/);
    }
    // RFC 6265bis matches the prefixes in any letter case, as browsers now do.
    assert.match(deleteCookie('__host-id'), /; Secure(;|$)/);
    assert.match(deleteCookie('__SECURE-id'), /; Secure(;|$)/);
  });

  test('repeats path, domain, SameSite and Partitioned', () => {
    const header = deleteCookie('id', {
      path: '/app/',
      domain: '.example.com',
      sameSite: 'Strict',
      partitioned: true,
    });
    for (const part of ['Path=/app/', 'Domain=.example.com', 'SameSite=Strict', 'Partitioned']) {
      assert.ok(header.includes(`; ${part}`), part);
    }
    assert.doesNotMatch(deleteCookie('id', { path: null }), /Path/);
  });
});

describe('signed cookies', () => {
  const clock = at(NOW);

  test('round trip through the Set-Cookie header and parseCookie', () => {
    const header = setSignedCookie('basket', 'a "b", c; é', {
      secret,
      salt: 'shop',
      clock,
      maxAge: 60,
    });
    const pair = header.split('; ')[0] ?? '';
    const cookies = parseCookie(pair);
    assert.equal(
      getSignedCookie(cookies, 'basket', { secret, salt: 'shop', clock }),
      'a "b", c; é',
    );
    assert.match(header, /Max-Age=60/);
  });

  test('a tampered value or signature is BadSignature, or undefined when read', () => {
    const value = signCookieValue('name', 'hello', { secret, clock });
    for (const tampered of [value.replace('hello', 'hellO'), `${value.slice(0, -1)}A`, 'hello']) {
      const cookies = cookiesOf({ name: tampered });
      assert.throws(
        () => getSignedCookie(cookies, 'name', { secret, clock }),
        (error: unknown) => {
          assert.ok(error instanceof BadSignature);
          assert.ok(!(error instanceof SignatureExpired));
          return true;
        },
      );
      assert.equal(readSignedCookie(cookies, 'name', { secret, clock }), undefined);
    }
  });

  test('expiry: age == maxAge passes, one second more is SignatureExpired with no legacy retry', () => {
    const cookies = cookiesOf({ name: signCookieValue('name', 'hello', { secret, clock }) });
    assert.equal(
      getSignedCookie(cookies, 'name', { secret, maxAge: 10, clock: at(NOW + 10) }),
      'hello',
    );
    assert.throws(
      () => getSignedCookie(cookies, 'name', { secret, maxAge: 10, clock: at(NOW + 11) }),
      SignatureExpired,
    );
    assert.equal(
      readSignedCookie(cookies, 'name', { secret, maxAge: 10, clock: at(NOW + 11) }),
      undefined,
    );
  });

  test('the signature is bound to the cookie name, the salt and the secret', () => {
    const value = signCookieValue('name', 'hello', { secret, salt: 's', clock });
    const under = (name: string) => cookiesOf({ [name]: value });
    assert.equal(getSignedCookie(under('name'), 'name', { secret, salt: 's', clock }), 'hello');
    assert.throws(
      () => getSignedCookie(under('other'), 'other', { secret, salt: 's', clock }),
      BadSignature,
    );
    assert.throws(
      () => getSignedCookie(under('name'), 'name', { secret, salt: 't', clock }),
      BadSignature,
    );
    assert.throws(
      () => getSignedCookie(under('name'), 'name', { secret: 'other', salt: 's', clock }),
      BadSignature,
    );
  });

  test('v2 refuses the (a, bc) / (ab, c) salt collision, even with the legacy fallback on', () => {
    const value = signCookieValue('a', 'hello', { secret, salt: 'bc', clock });
    const cookies = cookiesOf({ ab: value });
    assert.throws(() => getSignedCookie(cookies, 'ab', { secret, salt: 'c', clock }), BadSignature);
    assert.equal(readSignedCookie(cookies, 'ab', { secret, salt: 'c', clock }), undefined);
    assert.notEqual(value, signCookieValue('ab', 'hello', { secret, salt: 'c', clock }));
  });

  test('a legacy-salt cookie (Django < 5.2.15) is read only while legacySaltFallback is on', () => {
    const legacy = new TimestampSigner({
      secret: `django.http.cookies${secret}`,
      salt: 'a' + 'bc',
      clock,
    }).sign('hello');
    const cookies = cookiesOf({ a: legacy, ab: legacy });
    assert.equal(getSignedCookie(cookies, 'a', { secret, salt: 'bc', clock }), 'hello');
    // The old collision still works for legacy cookies while the fallback is on (Django too).
    assert.equal(getSignedCookie(cookies, 'ab', { secret, salt: 'c', clock }), 'hello');
    assert.throws(
      () => getSignedCookie(cookies, 'a', { secret, salt: 'bc', clock, legacySaltFallback: false }),
      BadSignature,
    );
    // An expired legacy cookie is SignatureExpired, raised by the legacy attempt.
    assert.throws(
      () => getSignedCookie(cookies, 'a', { secret, salt: 'bc', maxAge: 1, clock: at(NOW + 2) }),
      SignatureExpired,
    );
  });

  test('the salt length counts code points, as Python len()', () => {
    const astral = '😀';
    assert.equal(astral.length, 2);
    const expected = new TimestampSigner({
      secret: `django.http.cookies${secret}`,
      salt: `django.http.cookies.v2:1:${astral}name`,
      clock,
    }).sign('hello');
    assert.equal(signCookieValue('name', 'hello', { secret, salt: astral, clock }), expected);
    const utf16 = new TimestampSigner({
      secret: `django.http.cookies${secret}`,
      salt: `django.http.cookies.v2:2:${astral}name`,
      clock,
    }).sign('hello');
    assert.notEqual(expected, utf16);
  });

  test('fallback secrets are read with the django.http.cookies prefix, never used to sign', () => {
    const old = 'old-secret';
    const value = signCookieValue('name', 'hello', { secret: old, clock });
    const cookies = cookiesOf({ name: value });
    assert.throws(() => getSignedCookie(cookies, 'name', { secret, clock }), BadSignature);
    assert.equal(
      getSignedCookie(cookies, 'name', { secret, fallbackSecrets: ['x', old], clock }),
      'hello',
    );
    const header = setSignedCookie('name', 'hello', { secret, fallbackSecrets: [old], clock });
    assert.ok(header.startsWith(`name=${signCookieValue('name', 'hello', { secret, clock })};`));
    const buffer = signCookieValue('name', 'hello', { secret: Buffer.from(secret), clock });
    assert.equal(buffer, signCookieValue('name', 'hello', { secret, clock }));
  });

  test('a missing cookie is CookieNotFound, or undefined when read', () => {
    for (const cookies of [cookiesOf({}), {} as Record<string, string>]) {
      for (const name of ['name', '__proto__', 'constructor', 'toString']) {
        assert.throws(
          () => getSignedCookie(cookies, name, { secret }),
          (error: unknown) => {
            assert.ok(error instanceof CookieNotFound);
            assert.equal(error.name, 'CookieNotFound');
            assert.equal(error.cookieName, name);
            return true;
          },
        );
        assert.equal(readSignedCookie(cookies, name, { secret }), undefined);
      }
    }
  });

  test('an empty secret or fallback secret is ImproperlyConfigured, even when reading', () => {
    const cookies = cookiesOf({ name: 'hello:1r31eq:x' });
    assert.throws(() => signCookieValue('name', 'v', { secret: '' }), ImproperlyConfigured);
    assert.throws(() => setSignedCookie('name', 'v', { secret: Buffer.alloc(0) }), /secret/);
    assert.throws(() => readSignedCookie(cookies, 'name', { secret: '' }), ImproperlyConfigured);
    assert.throws(
      () => readSignedCookie(cookies, 'name', { secret, fallbackSecrets: [''] }),
      /fallbackSecrets\[0\]/,
    );
  });
});

describe('Set-Cookie: nothing illegal is ever written into a header', () => {
  const HEADER_SAFE = /^[\x20-\x7e]*$/;

  test('a value with ;, CR, LF, NUL, quotes or bytes 0x7F-0xFF is quoted and escaped, never raw', () => {
    for (const value of [
      'a;b',
      'a\r\nSet-Cookie: evil=1',
      'x\ny',
      '\u0000',
      'say "hi"',
      'caf\u00e9\u00ff',
    ]) {
      const header = serializeCookie('c', value);
      assert.match(header, HEADER_SAFE, JSON.stringify(value));
      const pair = header.split('; ')[0] ?? '';
      assert.equal(parseCookie(pair).c, value, 'read back exactly');
      assert.equal(header.split(';').length, 2, 'the value ends no attribute early');
    }
  });

  test('a value with a character above U+00FF is refused, naming the cookie and not the value', () => {
    for (const value of ['\u2603', 'ok\u0100', 'emoji \ud83d\ude00', 'line\u2028break']) {
      assert.throws(
        () => serializeCookie('token', value),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^Cookie value of "token" has a character above U\+00FF/);
          assert.ok(!error.message.includes(value));
          return true;
        },
      );
    }
  });

  test('names, domains and paths with ;, CR, LF or other illegal characters are refused', () => {
    const cases: [string, Parameters<typeof serializeCookie>[2], RegExp][] = [
      ['a;b', {}, /Cookie name/],
      ['a\r\nb', {}, /Cookie name/],
      ['a b', {}, /Cookie name/],
      ['a\u00a0', {}, /Cookie name/],
      ['c', { domain: 'example.com;secure' }, /domain/],
      ['c', { domain: 'example.com\r\nX: 1' }, /domain/],
      ['c', { domain: 'exa mple.com' }, /domain/],
      ['c', { path: '/a;b' }, /path/],
      ['c', { path: '/a\r\nX: 1' }, /path/],
      ['c', { path: '/a\nb' }, /path/],
      ['c', { path: '/\u00e9' }, /path/],
      ['c', { expires: 'Thu\r\nX: 1' }, /expires/],
    ];
    for (const [name, options, message] of cases) {
      assert.throws(
        () => serializeCookie(name, 'v', options),
        message,
        JSON.stringify([name, options]),
      );
      if (options && Object.keys(options).length > 0 && !('expires' in options)) {
        assert.throws(() => deleteCookie(name, options as never), message);
      }
    }
  });
});

describe('Set-Cookie: __Secure- and __Host- prefixes are enforced, setting and deleting', () => {
  test('a prefixed name gets Secure, in any letter case; secure: false is refused', () => {
    for (const name of ['__Secure-id', '__Host-id', '__secure-id', '__HOST-id']) {
      assert.match(serializeCookie(name, 'v'), /; Secure(;|$)/, name);
      assert.match(serializeCookie(name, 'v', { secure: true }), /; Secure(;|$)/, name);
      assert.throws(() => serializeCookie(name, 'v', { secure: false }), /needs Secure/, name);
    }
    assert.doesNotMatch(serializeCookie('_Secure-id', 'v'), /Secure;|Secure$/);
  });

  test('a __Host- cookie needs Path=/ and no Domain', () => {
    assert.match(serializeCookie('__Host-id', 'v'), /; Path=\/(;|$)/);
    assert.throws(() => serializeCookie('__Host-id', 'v', { domain: 'example.com' }), /domain/);
    assert.throws(() => serializeCookie('__Host-id', 'v', { path: '/app' }), /path/);
    assert.throws(() => serializeCookie('__Host-id', 'v', { path: null }), /path/);
    assert.throws(() => deleteCookie('__Host-id', { domain: 'example.com' }), /domain/);
    assert.throws(() => deleteCookie('__Host-id', { path: '/app' }), /path/);
    assert.doesNotThrow(() =>
      serializeCookie('__Secure-id', 'v', { domain: 'example.com', path: '/app' }),
    );
  });

  test("the CookieJar applies the same rules to the handler's cookies", () => {
    const jar = new CookieJar(cookiesOf({}), { secret, fallbackSecrets: [], clock: at(NOW) });
    jar.setCookie('__Host-theme', 'dark');
    jar.setSignedCookie('__Secure-cart', '3', { salt: 'cart' });
    for (const header of jar.setCookieHeaders) assert.match(header, /; Secure(;|$)/);
    assert.throws(() => jar.setCookie('__Host-x', 'v', { domain: 'example.com' }), /domain/);
    assert.throws(() => jar.setCookie('__Secure-x', 'v', { secure: false }), /needs Secure/);
    assert.throws(() => jar.deleteCookie('__Host-x', { path: '/app' }), /path/);
    assert.throws(() => jar.setCookie('x;y', 'v'), /Cookie name/);
    assert.throws(() => jar.setCookie('x', '\u2603'), /above U\+00FF/);
    assert.equal(jar.setCookieHeaders.length, 2, 'nothing refused was kept');
  });

  test(`the CookieJar refuses a cookie over ${COOKIE_SIZE_LIMIT} bytes before it is sent`, () => {
    const jar = new CookieJar(cookiesOf({}), { secret, fallbackSecrets: [], clock: at(NOW) });
    const attributes = '; Path=/'.length;
    const fits = 'x'.repeat(COOKIE_SIZE_LIMIT - 'big='.length - attributes);
    jar.setCookie('big', fits);
    assert.equal(Buffer.byteLength(jar.setCookieHeaders[0] ?? ''), COOKIE_SIZE_LIMIT);
    assert.throws(
      () => jar.setCookie('big', `${fits}x`),
      (error: unknown) => {
        assert.ok(error instanceof CookieTooLarge);
        assert.equal(error.bytes, COOKIE_SIZE_LIMIT + 1);
        assert.ok(!error.message.includes(fits), 'the value is not in the message');
        return true;
      },
    );
    assert.throws(() => jar.setSignedCookie('big', fits), CookieTooLarge);
    assert.equal(jar.setCookieHeaders[0]?.length, COOKIE_SIZE_LIMIT, 'the cookie that fit stays');
  });
});
