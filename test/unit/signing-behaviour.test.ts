import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { ImproperlyConfigured } from '../../src/improperly-configured.js';
import {
  BadSignature,
  b62Decode,
  b62Encode,
  type Clock,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  dumps,
  JsonSerializer,
  loads,
  pythonJsonParse,
  pythonJsonStringify,
  type Serializer,
  SignatureExpired,
  Signer,
  saltedHmac,
  TimestampSigner,
} from '../../src/signing/index.js';
import { pythonFloatRepr } from '../../src/signing/python-float-repr.js';

const SECRET = 'interop-secret';
const OLD_SECRET = 'another-secret-key-with-more-entropy-0123456789';
const NOW = 1_700_000_000;

/** A clock frozen at `seconds`, moved by assigning `clock.now`. */
function manualClock(seconds: number): Clock & { now: number } {
  const clock = Object.assign(() => new Date(Math.round(clock.now * 1000)), { now: seconds });
  return clock;
}

function assertBadSignature(fn: () => unknown, message?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof BadSignature, `expected BadSignature, got ${String(error)}`);
    assert.ok(!(error instanceof SignatureExpired), 'expected a signature failure, not expiry');
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  });
}

/** Every token that differs from `token` by one changed character. */
function* singleCharacterTampers(token: string): Generator<string> {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    for (const replacement of [code ^ 0x01, code ^ 0x20, code === 0x41 ? 0x42 : 0x41]) {
      if (replacement !== code) {
        yield token.slice(0, i) + String.fromCharCode(replacement) + token.slice(i + 1);
      }
    }
  }
}

describe('errors', () => {
  test('SignatureExpired is a BadSignature with its own name', () => {
    const expired = new SignatureExpired('Signature age 11 > 10 seconds');
    assert.ok(expired instanceof BadSignature);
    assert.ok(expired instanceof Error);
    assert.equal(expired.name, 'SignatureExpired');
    assert.equal(new BadSignature('x').name, 'BadSignature');
  });
});

describe('tampering', () => {
  const clock = manualClock(NOW);
  const tokens = {
    'Signer.sign': new Signer({ secret: SECRET }).sign('hello'),
    'TimestampSigner.sign': new TimestampSigner({ secret: SECRET, clock }).sign('a:b:c'),
    'dumps (raw)': dumps({ user: 'alice', n: 1 }, { secret: SECRET, clock }),
    'dumps (compressed)': dumps(
      { data: 'x'.repeat(200) },
      { secret: SECRET, compress: true, clock },
    ),
  };
  const verify = (token: string): unknown => loads(token, { secret: SECRET, clock });

  test('the compressed fixture token really is compressed', () => {
    assert.ok(tokens['dumps (compressed)'].startsWith('.'));
  });

  for (const [name, token] of Object.entries(tokens)) {
    const unsign = name.startsWith('dumps')
      ? verify
      : name.startsWith('Timestamp')
        ? (value: string) => new TimestampSigner({ secret: SECRET, clock }).unsign(value)
        : (value: string) => new Signer({ secret: SECRET }).unsign(value);

    test(`${name}: the untouched token verifies`, () => {
      assert.doesNotThrow(() => unsign(token));
    });

    test(`${name}: every single-character change is rejected`, () => {
      let count = 0;
      for (const tampered of singleCharacterTampers(token)) {
        assertBadSignature(() => unsign(tampered));
        count++;
      }
      assert.ok(count >= token.length * 2);
    });

    test(`${name}: every truncation is rejected`, () => {
      for (let length = 0; length < token.length; length++) {
        assertBadSignature(() => unsign(token.slice(0, length)));
      }
    });

    test(`${name}: extensions are rejected`, () => {
      for (const extended of [`${token}=`, `${token}A`, `${token}:`, `${token} `, `x${token}`]) {
        assertBadSignature(() => unsign(extended));
      }
    });

    test(`${name}: case changes are rejected`, () => {
      assertBadSignature(() => unsign(token.toUpperCase()));
      assertBadSignature(() => unsign(token.toLowerCase()));
    });

    test(`${name}: removing any separator is rejected`, () => {
      for (let i = token.indexOf(':'); i !== -1; i = token.indexOf(':', i + 1)) {
        assertBadSignature(() => unsign(token.slice(0, i) + token.slice(i + 1)));
      }
    });
  }

  test('the signature is compared as text: base64 padding is not accepted', () => {
    const token = new Signer({ secret: SECRET }).sign('hello');
    const signature = token.slice(token.lastIndexOf(':') + 1);
    assertBadSignature(
      () => new Signer({ secret: SECRET }).unsign(`${token}=`),
      `Signature "${signature}=" does not match`,
    );
  });

  test('a value without separator names the configured separator', () => {
    assertBadSignature(
      () => new Signer({ secret: SECRET, sep: '/' }).unsign('a:b'),
      'No "/" found in value',
    );
  });

  test('signatures of another algorithm are refused (no legacy sha1 fallback)', () => {
    const sha1 = new Signer({ secret: SECRET, algorithm: 'sha1' }).sign('hello');
    assertBadSignature(() => new Signer({ secret: SECRET }).unsign(sha1));
    const sha512 = new Signer({ secret: SECRET, algorithm: 'sha512' });
    assert.equal(sha512.unsign(sha512.sign('hello')), 'hello');
  });

  test('a non-ASCII signature of the right length is rejected', () => {
    const token = new Signer({ secret: SECRET }).sign('hello');
    assertBadSignature(() => new Signer({ secret: SECRET }).unsign(`${token.slice(0, -1)}é`));
  });
});

describe('fallback secrets', () => {
  const salt = 'my-salt';

  test('a value signed with the old secret verifies through the fallbacks', () => {
    const old = new Signer({ secret: OLD_SECRET, salt }).sign('hello');
    const rotated = new Signer({
      secret: SECRET,
      fallbackSecrets: ['unrelated', OLD_SECRET],
      salt,
    });
    assert.equal(rotated.unsign(old), 'hello');
    assertBadSignature(() => new Signer({ secret: SECRET, salt }).unsign(old));
  });

  test('signing always uses the first secret', () => {
    const rotated = new Signer({ secret: SECRET, fallbackSecrets: [OLD_SECRET], salt });
    const token = rotated.sign('hello');
    assert.equal(token, new Signer({ secret: SECRET, salt }).sign('hello'));
    assertBadSignature(() => new Signer({ secret: OLD_SECRET, salt }).unsign(token));
  });

  test('signature() with an explicit secret uses that secret', () => {
    const signer = new Signer({ secret: SECRET, salt });
    assert.equal(
      signer.signature('hello', OLD_SECRET),
      new Signer({ secret: OLD_SECRET, salt }).signature('hello'),
    );
    assert.equal(signer.signature('hello', ''), signer.signature('hello'));
  });

  test('Buffer secrets equal their UTF-8 string form', () => {
    const fromString = new Signer({ secret: 'sécret' }).sign('v');
    assert.equal(new Signer({ secret: Buffer.from('sécret', 'utf8') }).sign('v'), fromString);
  });

  test('dumps ignores fallbacks; loads tries them, also for compressed payloads', () => {
    const clock = manualClock(NOW);
    const value = { data: 'x'.repeat(100) };
    const old = dumps(value, { secret: OLD_SECRET, compress: true, clock });
    assert.ok(old.startsWith('.'));
    assert.deepEqual(loads(old, { secret: SECRET, fallbackSecrets: [OLD_SECRET], clock }), value);
    assertBadSignature(() => loads(old, { secret: SECRET, clock }));
    const fresh = dumps(value, { secret: SECRET, fallbackSecrets: [OLD_SECRET], clock });
    assert.equal(fresh, dumps(value, { secret: SECRET, clock }));
  });

  test('expiry is checked after a fallback match', () => {
    const clock = manualClock(NOW);
    const token = new TimestampSigner({ secret: OLD_SECRET, clock }).sign('v');
    clock.now = NOW + 11;
    const signer = new TimestampSigner({ secret: SECRET, fallbackSecrets: [OLD_SECRET], clock });
    assert.throws(() => signer.unsign(token, 10), SignatureExpired);
    assert.equal(signer.unsign(token, 11), 'v');
  });
});

describe('maxAge', () => {
  test('age equal to maxAge passes; a millisecond more expires', () => {
    const clock = manualClock(NOW);
    const signer = new TimestampSigner({ secret: SECRET, clock });
    const token = signer.sign('v');
    clock.now = NOW + 10;
    assert.equal(signer.unsign(token, 10), 'v');
    clock.now = NOW + 10.001;
    assert.throws(() => signer.unsign(token, 10), {
      name: 'SignatureExpired',
      message: 'Signature age 10.001 > 10 seconds',
    });
    assert.equal(signer.unsign(token), 'v', 'no maxAge, no limit');
  });

  test('the timestamp is whole seconds, truncated', () => {
    const clock = manualClock(NOW + 0.999);
    const signer = new TimestampSigner({ secret: SECRET, clock });
    assert.equal(signer.timestamp(), b62Encode(NOW));
    const token = signer.sign('v');
    clock.now = NOW + 10.5;
    assert.throws(() => signer.unsign(token, 10), { message: 'Signature age 10.5 > 10 seconds' });
  });

  test('maxAge 0 accepts a value signed in the same second', () => {
    const clock = manualClock(NOW);
    const signer = new TimestampSigner({ secret: SECRET, clock });
    assert.equal(signer.unsign(signer.sign('v'), 0), 'v');
  });

  test('timestamps in the future pass', () => {
    const clock = manualClock(NOW + 3600);
    const token = new TimestampSigner({ secret: SECRET, clock }).sign('v');
    clock.now = NOW;
    assert.equal(new TimestampSigner({ secret: SECRET, clock }).unsign(token, 1), 'v');
  });

  test('fractional maxAge is printed as Python prints it', () => {
    const clock = manualClock(NOW);
    const signer = new TimestampSigner({ secret: SECRET, clock });
    const token = signer.sign('v');
    clock.now = NOW + 3601;
    assert.throws(() => signer.unsign(token, 3600.5), {
      message: 'Signature age 3601 > 3600.5 seconds',
    });
  });

  test('the signature is checked before the age', () => {
    const clock = manualClock(NOW);
    const signer = new TimestampSigner({ secret: SECRET, clock });
    const token = signer.sign('v');
    clock.now = NOW + 1000;
    const forged = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    assertBadSignature(() => signer.unsign(forged, 10));
    assertBadSignature(() => loads(forged, { secret: SECRET, maxAge: 10, clock }));
  });

  test('loads and unsignObject honour maxAge', () => {
    const clock = manualClock(NOW);
    const token = dumps([1, 2], { secret: SECRET, clock });
    clock.now = NOW + 61;
    assert.throws(() => loads(token, { secret: SECRET, maxAge: 60, clock }), SignatureExpired);
    assert.deepEqual(loads(token, { secret: SECRET, maxAge: 61, clock }), [1, 2]);
    const signer = new TimestampSigner({ secret: SECRET, salt: 'django.core.signing', clock });
    assert.throws(() => signer.unsignObject(token, { maxAge: 60 }), SignatureExpired);
  });

  test('a plain Signer refuses maxAge', () => {
    const signer = new Signer({ secret: SECRET });
    assert.throws(() => signer.unsignObject(signer.signObject(1), { maxAge: 10 }), TypeError);
  });

  test('a validly signed value without a timestamp is a SyntaxError, not a BadSignature', () => {
    const plain = new Signer({ secret: SECRET, salt: 's' }).sign('hello');
    const timestamped = new TimestampSigner({ secret: SECRET, salt: 's' });
    assert.throws(() => timestamped.unsign(plain), SyntaxError);
    const badTimestamp = new Signer({ secret: SECRET, salt: 's' }).sign('hello:!!');
    assert.throws(() => timestamped.unsign(badTimestamp), SyntaxError);
  });
});

describe('compression', () => {
  const clock = manualClock(NOW);

  test('a one-byte saving is not enough: "aaaaaaaaaaa" stays raw', () => {
    const token = dumps('aaaaaaaaaaa', { secret: SECRET, compress: true, clock });
    assert.equal(token, dumps('aaaaaaaaaaa', { secret: SECRET, clock }));
    assert.ok(!token.startsWith('.'));
  });

  test('a two-byte saving compresses: "aaaaaaaaaaaa" gets the "." marker', () => {
    const token = dumps('aaaaaaaaaaaa', { secret: SECRET, compress: true, clock });
    assert.ok(token.startsWith('.'));
    assert.equal(loads(token, { secret: SECRET, clock }), 'aaaaaaaaaaaa');
  });

  test('without compress nothing is compressed', () => {
    assert.ok(!dumps('a'.repeat(1000), { secret: SECRET, clock }).startsWith('.'));
  });

  test('the "." is covered by the signature', () => {
    const token = dumps('a'.repeat(100), { secret: SECRET, compress: true, clock });
    assertBadSignature(() => loads(token.slice(1), { secret: SECRET, clock }));
  });

  test('a signed zip bomb is stopped at maxDecompressedBytes', () => {
    const bomb = Buffer.from(`"${'a'.repeat(DEFAULT_MAX_DECOMPRESSED_BYTES + 10)}"`, 'latin1');
    const payload = `.${deflateSync(bomb).toString('base64url')}`;
    assert.ok(payload.length < 10_000);
    const token = new TimestampSigner({ secret: SECRET, salt: 'django.core.signing', clock }).sign(
      payload,
    );
    assert.throws(
      () => loads(token, { secret: SECRET, clock }),
      (error: unknown) => error instanceof RangeError && !(error instanceof BadSignature),
    );
    assert.throws(
      () => loads(token, { secret: SECRET, clock, maxDecompressedBytes: 1000 }),
      RangeError,
    );
    const value = loads(token, {
      secret: SECRET,
      clock,
      maxDecompressedBytes: 2 * DEFAULT_MAX_DECOMPRESSED_BYTES,
    });
    assert.equal((value as string).length, DEFAULT_MAX_DECOMPRESSED_BYTES + 10);
  });

  test('an unsigned bomb, broken zlib or broken JSON is refused by the signature before any decoding', () => {
    const bomb = `.${deflateSync(Buffer.alloc(64 * DEFAULT_MAX_DECOMPRESSED_BYTES, 0x61)).toString('base64url')}`;
    const forged = new TimestampSigner({
      secret: 'not-the-secret',
      salt: 'django.core.signing',
      clock,
    });
    for (const payload of [
      bomb,
      `.${Buffer.from('not zlib').toString('base64url')}`,
      'e30K!!',
      '',
    ]) {
      // With the real secret these would be a RangeError, a zlib error and a SyntaxError.
      assertBadSignature(() => loads(forged.sign(payload), { secret: SECRET, clock }));
    }
  });

  test('a validly signed "." payload that is not zlib throws the zlib error', () => {
    const token = new TimestampSigner({ secret: SECRET, salt: 'django.core.signing', clock }).sign(
      `.${Buffer.from('not zlib').toString('base64url')}`,
    );
    assert.throws(() => loads(token, { secret: SECRET, clock }), { code: 'Z_DATA_ERROR' });
  });
});

describe('options', () => {
  test('unsafe separators are refused', () => {
    for (const sep of ['', 'a', 'Z', '0', '-', '_', '=', 'ab', 'a-b=', '^', '[', '`']) {
      assert.throws(() => new Signer({ secret: SECRET, sep }), ImproperlyConfigured, `sep ${sep}`);
    }
  });

  test('other separators work, including multi-character ones', () => {
    for (const sep of [':', '/', '.', '::', 'a:', '~']) {
      const signer = new TimestampSigner({ secret: SECRET, sep });
      assert.equal(signer.unsign(signer.sign(`x${sep}y`), 10), `x${sep}y`, `sep ${sep}`);
    }
  });

  test('empty secrets and unknown algorithms are refused', () => {
    assert.throws(() => new Signer({ secret: '' }), ImproperlyConfigured);
    assert.throws(() => new Signer({ secret: Buffer.alloc(0) }), ImproperlyConfigured);
    assert.throws(
      () => new Signer({ secret: SECRET, fallbackSecrets: [''] }),
      ImproperlyConfigured,
    );
    assert.throws(() => dumps(1, { secret: '' }), ImproperlyConfigured);
    assert.throws(
      () => new Signer({ secret: SECRET, algorithm: 'md5' as unknown as 'sha256' }),
      ImproperlyConfigured,
    );
  });

  test('an empty salt means the class default', () => {
    assert.equal(new Signer({ secret: SECRET, salt: '' }).salt, 'django.core.signing.Signer');
    assert.equal(new Signer({ secret: SECRET }).salt, 'django.core.signing.Signer');
    assert.equal(
      new TimestampSigner({ secret: SECRET, salt: '' }).salt,
      'django.core.signing.TimestampSigner',
    );
  });

  test("dumps salt '' signs with the TimestampSigner default, not 'django.core.signing'", () => {
    const clock = manualClock(NOW);
    const token = dumps({ a: 1 }, { secret: SECRET, salt: '', clock });
    const signer = new TimestampSigner({
      secret: SECRET,
      salt: 'django.core.signing.TimestampSigner',
      clock,
    });
    assert.deepEqual(signer.unsignObject(token), { a: 1 });
    assertBadSignature(() => loads(token, { secret: SECRET, clock }));
  });

  test('a custom serializer is used both ways', () => {
    const upper: Serializer = {
      dumps: (value) => Buffer.from(String(value).toUpperCase()),
      loads: (data) => data.toString().toLowerCase(),
    };
    const signer = new Signer({ secret: SECRET });
    const token = signer.signObject('hello', { serializer: upper });
    assert.ok(token.startsWith(Buffer.from('HELLO').toString('base64url')));
    assert.equal(signer.unsignObject(token, { serializer: upper }), 'hello');
  });
});

describe('saltedHmac and base62', () => {
  test('saltedHmac defaults to sha1, like Django', () => {
    assert.deepEqual(saltedHmac('k', 'v', SECRET), saltedHmac('k', 'v', SECRET, 'sha1'));
    assert.equal(saltedHmac('k', 'v', SECRET).length, 20);
    assert.deepEqual(
      saltedHmac('k', Buffer.from('v'), SECRET, 'sha256'),
      saltedHmac('k', 'v', SECRET, 'sha256'),
    );
  });

  test('b62 round trips and rejects characters outside the alphabet', () => {
    for (const n of [0, 1, 61, 62, -1, -62, 2 ** 31, NOW, Number.MAX_SAFE_INTEGER]) {
      assert.equal(b62Decode(b62Encode(n)), n);
    }
    for (const bad of ['', '!', '1r3 1', 'é', '+1', '1.5']) {
      assert.throws(() => b62Decode(bad), SyntaxError, JSON.stringify(bad));
    }
    assert.throws(() => b62Encode(1.5), RangeError);
    assert.throws(() => b62Decode('zzzzzzzzzzzz'), RangeError);
    assert.equal(Object.is(b62Decode('-0'), 0), true);
  });
});

describe('pythonJsonStringify', () => {
  const cases: [string, unknown, string][] = [
    ['non-ASCII', 'Zoë ☃ 漢字 ÿ', '"Zo\\u00eb \\u2603 \\u6f22\\u5b57 \\u00ff"'],
    ['emoji as a surrogate pair', '😀', '"\\ud83d\\ude00"'],
    ['DEL', '\x7f', '"\\u007f"'],
    ['short control escapes', '\b\f\n\r\t', '"\\b\\f\\n\\r\\t"'],
    ['other control characters', '\x00\x01\x1f\x0b', '"\\u0000\\u0001\\u001f\\u000b"'],
    ['quote and backslash', '"\\', '"\\"\\\\"'],
    ['characters Python leaves alone', "/<>&'~ ", '"/<>&\'~ "'],
    ['lone surrogate', '\ud800', '"\\ud800"'],
    ['float', 1.5, '1.5'],
    ['0.1', 0.1, '0.1'],
    ['small float', 1e-7, '1e-07'],
    ['0.0001 stays fixed', 0.0001, '0.0001'],
    ['0.00001 goes scientific', 0.00001, '1e-05'],
    ['large float', 1e20, '1e+20'],
    ['1e16', 1e16, '1e+16'],
    ['huge', 1.5e300, '1.5e+300'],
    ['negative float', -2.5e-10, '-2.5e-10'],
    ['unsafe integral number', 2 ** 53, '9007199254740992.0'],
    ['safe integer', Number.MAX_SAFE_INTEGER, '9007199254740991'],
    ['negative zero', -0, '0'],
    ['bigint', 9007199254740993n, '9007199254740993'],
    ['negative bigint', -123456789012345678901234567890n, '-123456789012345678901234567890'],
    ['NaN', Number.NaN, 'NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['-Infinity', Number.NEGATIVE_INFINITY, '-Infinity'],
    ['key order', { b: 1, a: 2, c: { z: 0, y: [] } }, '{"b":1,"a":2,"c":{"z":0,"y":[]}}'],
    ['undefined members skipped', { a: undefined, b: () => 1, c: 1 }, '{"c":1}'],
    ['undefined array items become null', [undefined, () => 1, 1], '[null,null,1]'],
    ['Date via toJSON', { at: new Date(0) }, '{"at":"1970-01-01T00:00:00.000Z"}'],
    ['boxed primitives', [Object('s'), Object(1), Object(true)], '["s",1,true]'],
    [
      'Map in insertion order with Python key conversion',
      new Map<unknown, unknown>([
        ['2', 'a'],
        [1, 'b'],
        [1.5, 'c'],
        [true, 'd'],
        [null, 'e'],
      ]),
      '{"2":"a","1":"b","1.5":"c","true":"d","null":"e"}',
    ],
    ['non-ASCII keys', { é: 1 }, '{"\\u00e9":1}'],
    ['null', null, 'null'],
    ['booleans', [true, false], '[true,false]'],
  ];
  for (const [name, value, expected] of cases) {
    test(name, () => {
      assert.equal(pythonJsonStringify(value), expected);
    });
  }

  test('refuses what Python cannot serialize', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => pythonJsonStringify(cycle), TypeError);
    assert.throws(() => pythonJsonStringify(undefined), TypeError);
    assert.throws(() => pythonJsonStringify(new Set([1])), TypeError);
    assert.throws(() => pythonJsonStringify(new Map([[{}, 1]])), TypeError);
  });

  test('shared (non-circular) references are fine', () => {
    const shared = { a: 1 };
    assert.equal(pythonJsonStringify([shared, shared]), '[{"a":1},{"a":1}]');
  });

  test('matches JSON.stringify for ASCII data without floats', () => {
    const value = {
      s: 'plain text / with <html> & "quotes"',
      n: [0, -1, 42],
      o: { t: true, f: null },
    };
    assert.equal(pythonJsonStringify(value), JSON.stringify(value));
  });

  test('pythonFloatRepr keeps .0 on integral floats, for messages and docs', () => {
    assert.equal(pythonFloatRepr(1), '1.0');
    assert.equal(pythonFloatRepr(1e15), '1000000000000000.0');
    assert.equal(pythonFloatRepr(123.456), '123.456');
    assert.equal(pythonFloatRepr(5e-324), '5e-324');
  });
});

describe('pythonJsonParse and JsonSerializer', () => {
  test('reads NaN and Infinity as Python writes them', () => {
    const value = {
      a: Number.NaN,
      b: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
      s: 'NaN',
    };
    const text = pythonJsonStringify(value);
    assert.equal(text, '{"a":NaN,"b":[Infinity,-Infinity],"s":"NaN"}');
    assert.deepEqual(pythonJsonParse(text), value);
    assert.deepEqual(pythonJsonParse(' [ NaN , {"x" : -Infinity } ] '), [
      Number.NaN,
      { x: Number.NEGATIVE_INFINITY },
    ]);
  });

  test('keeps __proto__ as data on the slow path too', () => {
    const parsed = pythonJsonParse('{"__proto__":{"x":1},"n":NaN}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['__proto__', 'n']);
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  });

  test('invalid JSON is a SyntaxError', () => {
    for (const bad of [
      '',
      '{',
      '{"a":1',
      'NaN x',
      '[NaN,]',
      '{"a" NaN}',
      'nan',
      '"\u0001" NaN',
      '[Infinit]',
    ]) {
      assert.throws(() => pythonJsonParse(bad), SyntaxError, JSON.stringify(bad));
    }
  });

  test('JsonSerializer writes ASCII bytes and reads latin-1', () => {
    assert.deepEqual(
      JsonSerializer.dumps({ é: '😀' }),
      Buffer.from('{"\\u00e9":"\\ud83d\\ude00"}'),
    );
    assert.equal(JsonSerializer.loads(Buffer.from([0x22, 0xe9, 0x22])), 'é');
    assert.equal(JsonSerializer.loads(Buffer.from('"é"', 'utf8')), 'Ã©');
  });

  test('a dumps/loads round trip keeps values JSON can hold', () => {
    const clock = manualClock(NOW);
    const value = {
      name: 'Zoë ☃ 😀',
      list: [1, 2.5, -3e-9, null, true, 'x\n\u007f'],
      nested: { deep: { deeper: [{}] } },
      nan: Number.NaN,
    };
    for (const compress of [false, true]) {
      const token = dumps(value, { secret: SECRET, compress, clock, salt: 'rt' });
      assert.match(token, /^[A-Za-z0-9_\-.:]+$/);
      assert.deepEqual(loads(token, { secret: SECRET, clock, salt: 'rt' }), value);
    }
  });
});
