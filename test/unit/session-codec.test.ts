import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SessionEvent } from '../../src/core/security-logger.js';
import { SessionCodec } from '../../src/core/session-codec.js';
import { testClock } from '../support/test-clock.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

function setup() {
  const clock = testClock();
  const warnings: string[] = [];
  const events: SessionEvent[] = [];
  const codec = new SessionCodec({
    secret: SECRET,
    clock,
    logger: { warn: (message) => warnings.push(message), event: (event) => events.push(event) },
  });
  return { clock, codec, warnings, events };
}

describe('SessionCodec: the memo of verified tokens', () => {
  test('a token decoded again gives equal data, in objects of its own', () => {
    const { codec } = setup();
    const token = codec.encode({ cart: ['book'], user: { id: 7 } });
    const first = codec.decode(token);
    assert.ok(first);
    (first.cart as string[]).push('pen');
    assert.deepEqual(codec.decode(token), { cart: ['book'], user: { id: 7 } });
  });

  test('maxAge is checked on every decode, remembered or not', () => {
    const { clock, codec } = setup();
    const token = codec.encode({ a: 1 });
    assert.deepEqual(codec.decodeWithTimestamp(token, 10)?.data, { a: 1 });
    clock.advance(10);
    assert.deepEqual(codec.decode(token, 10), { a: 1 });
    clock.advance(0.001);
    assert.equal(codec.decode(token, 10), null);
    assert.deepEqual(codec.decode(token), { a: 1 });
  });

  test('what it encoded is remembered, and the token is still what any codec verifies', () => {
    const { codec } = setup();
    const small = codec.encode({ a: 1 });
    const big = codec.encode({ text: 'compress me '.repeat(40) });
    const fresh = new SessionCodec({ secret: SECRET, logger: { warn() {} } });
    assert.deepEqual(fresh.decode(small), { a: 1 });
    assert.deepEqual(fresh.decode(big), { text: 'compress me '.repeat(40) });
    assert.deepEqual(codec.decode(small), { a: 1 });
    assert.deepEqual(codec.decode(big), { text: 'compress me '.repeat(40) });
  });

  test('a compressed token comes back the same from the memo', () => {
    const { codec } = setup();
    const data = { text: 'compress me '.repeat(40) };
    const token = codec.encode(data);
    assert.ok(token.startsWith('.'), 'compressed');
    assert.deepEqual(codec.decode(token), data);
    assert.deepEqual(codec.decode(token), data);
  });

  test('a token altered after a valid one was remembered is still refused, each time', () => {
    const { codec, warnings, events } = setup();
    const token = codec.encode({ user: 'ann' });
    assert.ok(codec.decode(token));
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    const forged = token.slice(0, -1) + last;
    assert.equal(codec.decode(forged), null);
    assert.equal(codec.decode(forged), null);
    assert.deepEqual(warnings, ['Session data corrupted', 'Session data corrupted']);
    assert.deepEqual(events, [
      { type: 'rejected', reason: 'bad signature' },
      { type: 'rejected', reason: 'bad signature' },
    ]);
  });

  test('another secret does not verify what this codec remembered', () => {
    const { codec } = setup();
    const token = codec.encode({ a: 1 });
    assert.ok(codec.decode(token));
    const other = new SessionCodec({
      secret: 'another-secret-that-is-long-enough-9876543210',
      logger: { warn() {} },
    });
    assert.equal(other.decode(token), null);
  });

  test('the memo stays within its budget: many distinct tokens still decode', () => {
    const { codec } = setup();
    const big = 'x'.repeat(40_000);
    const tokens = Array.from({ length: 400 }, (_, i) => codec.encode({ i, big: `${i}${big}` }));
    for (const token of tokens) assert.ok(codec.decode(token));
    assert.equal(codec.decode(tokens[0] ?? '')?.i, 0);
    assert.equal(codec.decode(tokens[399] ?? '')?.i, 399);
  });
});
