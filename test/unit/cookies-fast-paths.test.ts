import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CookieSerializer,
  type FixedCookieOptions,
  parseCookie,
  readCookie,
  serializeCookie,
} from '../../src/cookies/index.js';
import type { Clock } from '../../src/signing/clock.js';
import { prng } from '../support/prng.js';

describe('readCookie', () => {
  test('finds what parseCookie finds', () => {
    const header = 'a=1; sessionid=abc; b="x\\"y"; sessionid=def ;c';
    assert.equal(readCookie(header, 'sessionid'), 'def');
    assert.equal(readCookie(header, 'b'), 'x"y');
    assert.equal(readCookie(header, 'c'), undefined);
    assert.equal(readCookie(header, ''), 'c');
    assert.equal(readCookie(undefined, 'a'), undefined);
    assert.equal(readCookie(null, 'a'), undefined);
    assert.equal(readCookie('xsessionid=1; sessionidx=2', 'sessionid'), undefined);
    assert.equal(readCookie('x=sessionid=1', 'sessionid'), undefined);
    assert.equal(readCookie(' \tsessionid \t= 1 ', 'sessionid'), '1');
    assert.equal(readCookie('sessionid=1; sessionid', 'sessionid'), '1');
    assert.equal(readCookie('a=1', ' a'), undefined);
    assert.equal(readCookie('a=b=c', 'a=b'), undefined);
  });

  test('agrees with parseCookie on random headers', () => {
    const random = prng(8);
    const alphabet = ['a', 'b', 'ab', '=', ';', ' ', '\t', '"', '\\', '\u00a0', '\x0b', '1', '; '];
    const names = ['a', 'b', 'ab', 'ba', '', ' a', 'a=', 'a;b', '"a"'];
    for (let round = 0; round < 20000; round++) {
      let header = '';
      const length = Math.floor(random() * 16);
      for (let i = 0; i < length; i++) header += alphabet[Math.floor(random() * alphabet.length)];
      const parsed = parseCookie(header);
      for (const name of names) {
        assert.equal(readCookie(header, name), parsed[name], JSON.stringify({ header, name }));
      }
    }
  });
});

describe('CookieSerializer', () => {
  const NOW = 1_700_000_000_500;
  const clock: Clock = () => new Date(NOW);
  const cases: [string, FixedCookieOptions][] = [
    ['sessionid', { path: '/', httpOnly: true, sameSite: 'Lax', clock }],
    ['sessionid', { path: '/app', secure: true, sameSite: 'Strict', domain: 'example.com', clock }],
    ['sessionid', { path: null, sameSite: false, clock }],
    ['__Host-s', { httpOnly: true, partitioned: true, priority: 'high', sameSite: 'none', clock }],
    ['s', { domain: 'example.com', clock }],
  ];
  const values = ['abc', 'a.b:c-d_e', '', 'a b', 'caf\u00e9', '"q"', 'x;y'];
  const ages = [undefined, 0, -1, -0.5, 1, 1.5, 1209600, 59.999, 1e300, Number.NaN];

  test('writes what serializeCookie writes, or throws what it throws', () => {
    for (const [name, options] of cases) {
      const serializer = new CookieSerializer(name, options);
      for (const value of values) {
        for (const maxAge of ages) {
          const full = maxAge === undefined ? options : { ...options, maxAge };
          let expected: string | Error;
          try {
            expected = serializeCookie(name, value, full);
          } catch (error) {
            expected = error as Error;
          }
          if (expected instanceof Error) {
            assert.throws(() => serializer.serialize(value, maxAge), {
              name: expected.name,
              message: expected.message,
            });
          } else {
            assert.equal(
              serializer.serialize(value, maxAge),
              expected,
              `${name} ${value} ${maxAge}`,
            );
          }
        }
      }
    }
  });

  test('the Expires text follows the clock', () => {
    let now = NOW;
    const serializer = new CookieSerializer('s', { clock: () => new Date(now) });
    const first = serializer.serialize('v', 10);
    now += 1000;
    const second = serializer.serialize('v', 10);
    assert.notEqual(first, second);
    assert.equal(second, serializeCookie('s', 'v', { maxAge: 10, clock: () => new Date(now) }));
  });

  test('validates the name and options at construction', () => {
    assert.throws(() => new CookieSerializer('expires'), TypeError);
    assert.throws(() => new CookieSerializer('a b'), TypeError);
    assert.throws(() => new CookieSerializer('__Host-a', { domain: 'x.com' }), TypeError);
    assert.throws(
      () => new CookieSerializer('a', { maxAge: 1 } as unknown as FixedCookieOptions),
      TypeError,
    );
  });
});
