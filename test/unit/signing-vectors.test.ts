import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, type TestContext, test } from 'node:test';
import {
  BadSignature,
  b62Decode,
  b62Encode,
  type Clock,
  dumps,
  type HashAlgorithm,
  loads,
  pythonJsonStringify,
  SignatureExpired,
  Signer,
  saltedHmac,
  TimestampSigner,
} from '../../src/signing/index.js';
import { deriveKey } from '../../src/signing/salted-hmac.js';

interface VectorError {
  type: string;
  message: string;
}

interface Vector {
  id: string;
  family: string;
  description: string;
  decode_only: boolean;
  input: Record<string, unknown>;
  output: unknown;
  error: VectorError | null;
  facts?: Record<string, unknown>;
}

/**
 * Parses JSON without losing what `JSON.parse` would: integers beyond the safe range become
 * bigints (Django's vectors hold 9007199254740993), and `onNumber` sees every number literal.
 */
function parseLossless(text: string, onNumber?: (literal: string) => void): unknown {
  let pos = 0;
  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
  const skip = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos] as string)) pos++;
  };
  const value = (): unknown => {
    skip();
    const char = text[pos];
    if (char === '{') {
      pos++;
      const object: Record<string, unknown> = {};
      skip();
      if (text[pos] === '}') {
        pos++;
        return object;
      }
      for (;;) {
        skip();
        const key = value() as string;
        skip();
        assert.equal(text[pos], ':');
        pos++;
        object[key] = value();
        skip();
        if (text[pos++] === '}') return object;
      }
    }
    if (char === '[') {
      pos++;
      const array: unknown[] = [];
      skip();
      if (text[pos] === ']') {
        pos++;
        return array;
      }
      for (;;) {
        array.push(value());
        skip();
        if (text[pos++] === ']') return array;
      }
    }
    if (char === '"') {
      let end = pos + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const string = JSON.parse(text.slice(pos, end + 1)) as string;
      pos = end + 1;
      return string;
    }
    for (const [word, literal] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return literal;
      }
    }
    numberPattern.lastIndex = pos;
    const match = numberPattern.exec(text);
    if (match === null) throw new SyntaxError(`unexpected ${char} at ${pos}`);
    pos += match[0].length;
    onNumber?.(match[0]);
    const number = Number(match[0]);
    return /^-?\d+$/.test(match[0]) && !Number.isSafeInteger(number) ? BigInt(match[0]) : number;
  };
  const result = value();
  skip();
  assert.equal(pos, text.length, 'trailing data');
  return result;
}

/**
 * True when Python's JSON holds a float with an integral value that JavaScript can only hold as
 * an integer (`1.0`, `100.0`): pythonJsonStringify writes those as `1`, `100`.
 */
function hasIntegralFloat(json: string): boolean {
  let found = false;
  parseLossless(json, (literal) => {
    if (/[.eE]/.test(literal) && Number.isSafeInteger(Number(literal))) found = true;
  });
  return found;
}

function clockAt(seconds: number): Clock {
  return () => new Date(Math.round(seconds * 1000));
}

function str(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  assert.equal(typeof value, 'string', `input.${key}`);
  return value as string;
}

function optionalStr(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key];
  return value === null || value === undefined ? undefined : str(input, key);
}

function optionalNum(input: Record<string, unknown>, key: string): number | undefined {
  const value = input[key];
  if (value === null || value === undefined) return undefined;
  assert.equal(typeof value, 'number', `input.${key}`);
  return value as number;
}

function optionalStrings(input: Record<string, unknown>, key: string): string[] | undefined {
  const value = input[key];
  if (value === null || value === undefined) return undefined;
  assert.ok(Array.isArray(value), `input.${key}`);
  return value as string[];
}

/**
 * Runs `fn` and checks it fails as Django did. Django's own messages (BadSignature,
 * SignatureExpired) must match exactly; Python built-in errors map to their JavaScript
 * counterparts (see src/signing/errors.ts) and only their class is checked.
 */
function assertFailsLikeDjango(fn: () => unknown, error: VectorError): void {
  assert.throws(fn, (thrown: unknown) => {
    switch (error.type) {
      case 'BadSignature':
        assert.ok(thrown instanceof BadSignature, `expected BadSignature, got ${String(thrown)}`);
        assert.ok(!(thrown instanceof SignatureExpired));
        assert.equal(thrown.name, 'BadSignature');
        assert.equal(thrown.message, error.message);
        return true;
      case 'SignatureExpired':
        assert.ok(
          thrown instanceof SignatureExpired,
          `expected SignatureExpired, got ${String(thrown)}`,
        );
        assert.equal(thrown.name, 'SignatureExpired');
        assert.equal(thrown.message, error.message);
        return true;
      // Python's ValueError family (JSONDecodeError included): malformed text in a validly
      // signed value. JavaScript's counterpart is SyntaxError, as JSON.parse throws.
      case 'ValueError':
      case 'JSONDecodeError':
        assert.ok(thrown instanceof SyntaxError, `expected SyntaxError, got ${String(thrown)}`);
        assert.ok(!(thrown instanceof BadSignature));
        return true;
      // zlib.error: node:zlib throws an Error with a Z_* code.
      case 'error':
        assert.ok(thrown instanceof Error && !(thrown instanceof BadSignature));
        assert.equal((thrown as { code?: unknown }).code, 'Z_DATA_ERROR');
        return true;
      default:
        assert.fail(`no JavaScript mapping for Django error type ${error.type}`);
    }
  });
}

function expectOutcome(vector: Vector, fn: () => unknown): void {
  if (vector.error !== null) {
    assertFailsLikeDjango(fn, vector.error);
  } else {
    assert.deepEqual(fn(), vector.output);
  }
}

const fixture = parseLossless(
  readFileSync(new URL('../fixtures/vectors-django-5.2.json', import.meta.url), 'utf8'),
) as { django_version: string; vectors: Vector[] };

const runners: Record<string, (vector: Vector, t: TestContext) => void> = {
  'salted-hmac'({ input, output, facts }) {
    const algorithm = str(input, 'algorithm') as HashAlgorithm;
    const digest = saltedHmac(
      str(input, 'key_salt'),
      str(input, 'value'),
      str(input, 'secret'),
      algorithm,
    );
    const expected = output as { hexdigest: string; base64url: string };
    assert.equal(digest.toString('hex'), expected.hexdigest);
    assert.equal(digest.toString('base64url'), expected.base64url);
    const key = deriveKey(str(input, 'key_salt'), str(input, 'secret'), algorithm);
    assert.equal(key.toString('hex'), facts?.derived_key_hex);
  },

  base62({ input, output }) {
    const n = input.n as number;
    assert.equal(b62Encode(n), output);
    assert.equal(b62Decode(output as string), n);
  },

  sign(vector) {
    const { input } = vector;
    const options = {
      secret: str(input, 'secret_key'),
      salt: optionalStr(input, 'salt'),
      algorithm: optionalStr(input, 'algorithm') as HashAlgorithm | undefined,
    };
    const signer = input.timestamp
      ? new TimestampSigner({ ...options, clock: clockAt(input.now as number) })
      : new Signer(options);
    expectOutcome(vector, () => signer.sign(str(input, 'value')));
  },

  unsign(vector) {
    const { input } = vector;
    const options = { secret: str(input, 'secret_key'), salt: optionalStr(input, 'salt') };
    const signed = str(input, 'signed');
    if (input.timestamp) {
      const signer = new TimestampSigner({ ...options, clock: clockAt(input.now as number) });
      expectOutcome(vector, () => signer.unsign(signed, optionalNum(input, 'max_age')));
    } else {
      expectOutcome(vector, () => new Signer(options).unsign(signed));
    }
  },

  dumps(vector) {
    const { input, facts } = vector;
    const secret = str(input, 'secret_key');
    const salt = optionalStr(input, 'salt');
    const clock = clockAt(input.now as number);
    const compress = input.compress as boolean;
    const ours = dumps(input.obj, { secret, salt, compress, clock });
    const serializedJson = facts?.serialized_json as string;
    // JavaScript has no float 1.0 distinct from the integer 1: we write `1` where Python wrote
    // `1.0`, so the token cannot be byte-equal; check that both tokens decode to the input.
    const integralFloat = hasIntegralFloat(serializedJson);
    if (!integralFloat) assert.equal(pythonJsonStringify(input.obj), serializedJson);
    if (vector.decode_only || integralFloat) {
      const expected = input.obj;
      assert.deepEqual(loads(vector.output as string, { secret, salt, clock }), expected);
      assert.deepEqual(loads(ours, { secret, salt, clock }), expected);
    } else {
      assert.equal(ours, vector.output);
      assert.equal(ours.startsWith('.'), facts?.compressed);
    }
  },

  loads(vector) {
    const { input } = vector;
    const options = {
      secret: str(input, 'secret_key'),
      salt: optionalStr(input, 'salt'),
      maxAge: optionalNum(input, 'max_age'),
      clock: clockAt(input.now as number),
    };
    expectOutcome(vector, () => loads(str(input, 'token'), options));
  },

  'key-fallbacks'(vector) {
    const { input } = vector;
    const operation = input.operation;
    const options = {
      secret: str(input, 'secret_key'),
      fallbackSecrets: optionalStrings(input, 'secret_key_fallbacks'),
      salt: optionalStr(input, 'salt'),
    };
    const clock = clockAt(input.now as number);
    if (operation === 'sign') {
      expectOutcome(vector, () => new Signer(options).sign(str(input, 'value')));
    } else if (operation === 'loads') {
      expectOutcome(vector, () => loads(str(input, 'token'), { ...options, clock }));
    } else if ('max_age' in input) {
      const signer = new TimestampSigner({ ...options, clock });
      expectOutcome(vector, () =>
        signer.unsign(str(input, 'signed'), optionalNum(input, 'max_age')),
      );
    } else {
      expectOutcome(vector, () => new Signer(options).unsign(str(input, 'signed')));
    }
  },
};

const SIGNING_OPERATIONS = new Set(['sign', 'unsign', 'loads']);

describe(`Django ${fixture.django_version} signing vectors`, () => {
  for (const [family, run] of Object.entries(runners)) {
    // key-fallbacks vectors about signed cookies run in cookies-vectors.test.ts, those about
    // sessions (decode, signed_cookies, db and file rotation) in session-vectors.test.ts.
    const vectors = fixture.vectors.filter(
      (vector) =>
        vector.family === family &&
        (family !== 'key-fallbacks' || SIGNING_OPERATIONS.has(String(vector.input.operation))),
    );
    describe(family, () => {
      test('the fixture has vectors for this family', () => {
        assert.ok(vectors.length > 0);
      });
      for (const vector of vectors) {
        test(vector.id, (t) => run(vector, t));
      }
    });
  }
});
