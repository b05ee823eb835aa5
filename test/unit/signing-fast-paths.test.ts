import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { BadSignature, Signer } from '../../src/signing/index.js';
import { HmacKey } from '../../src/signing/salted-hmac.js';
import { prng } from '../support/prng.js';

describe('HmacKey', () => {
  test('digests exactly as createHmac does', () => {
    const random = prng(5);
    for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
      for (const keyLength of [0, 1, 20, 32, 64, 65, 128, 200]) {
        const key = Buffer.alloc(keyLength, keyLength);
        const hmacKey = new HmacKey(algorithm, key);
        for (const length of [0, 1, 55, 64, 1000, 3000, 9000]) {
          let value = '';
          for (let i = 0; i < length; i++) value += String.fromCharCode(random() * 0x800);
          assert.deepEqual(
            hmacKey.digest(value),
            createHmac(algorithm, key).update(value, 'utf8').digest(),
          );
          const bytes = Buffer.from(value, 'utf8');
          assert.deepEqual(
            hmacKey.digest(bytes),
            createHmac(algorithm, key).update(bytes).digest(),
          );
        }
      }
    }
  });
});

describe('Signer fast paths', () => {
  const signer = new Signer({ secret: 'fast-path-secret' });

  test('refuses a signature that decodes right but is not the canonical text', () => {
    const signed = signer.sign('hello');
    const signature = signed.slice(signed.lastIndexOf(':') + 1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.at(-1) as string);
    // 43 characters carry 258 bits for 256: the two low bits of the last one are unused.
    for (let extra = 1; extra < 4; extra++) {
      const variant = `${signature.slice(0, -1)}${alphabet[(last & ~3) | extra]}`;
      assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(signature, 'base64url'));
      assert.throws(() => signer.unsign(`hello:${variant}`), BadSignature);
    }
    for (const variant of [`${signature.slice(0, -1)}=`, `${signature.slice(0, -2)}+/`]) {
      assert.throws(() => signer.unsign(`hello:${variant}`), BadSignature);
    }
    assert.equal(signer.unsign(signed), 'hello');
  });

  test('skips compression only where it cannot win', () => {
    const random = prng(11);
    const texts: string[] = [];
    for (let length = 0; length < 40; length++) {
      texts.push('a'.repeat(length), '{"a":0}'.repeat(6).slice(0, length));
      for (const size of [2, 4, 16, 64, 256]) {
        for (let round = 0; round < 200; round++) {
          let text = '';
          for (let i = 0; i < length; i++) text += String.fromCharCode(random() * size);
          texts.push(text);
        }
      }
    }
    for (let count = 0; count < 100000; count += 7) texts.push(JSON.stringify({ count }));
    for (const text of texts) {
      const data = Buffer.from(text, 'latin1');
      const compressed = deflateSync(data);
      const expected =
        compressed.length < data.length - 1
          ? signer.sign(`.${compressed.toString('base64url')}`)
          : signer.sign(data.toString('base64url'));
      const serializer = { dumps: () => data, loads: (bytes: Buffer) => bytes };
      assert.equal(signer.signObject(null, { compress: true, serializer }), expected);
    }
  });
});
