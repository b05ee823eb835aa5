/**
 * keepstate's signing against real Django 5.2, both ways: what Django signs keepstate reads (and
 * signs byte for byte the same at the same second), and what keepstate signs Django reads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BadSignature,
  dumps,
  loads,
  SignatureExpired,
  Signer,
  TimestampSigner,
} from '../../src/signing/index.js';
import {
  DjangoBatch,
  type DjangoCall,
  describeWithDjango,
  findDjango,
  signedAt,
} from '../support/django.js';
import { clockAt, DUMPS_CASES, LARGE_VALUE, saltLabel, withSalt } from './values.js';

const SECRET = 'keepstate-interop-secret';
const OLD_SECRET = 'keepstate-interop-old-secret';

const SALTS = [undefined, '', 'my-salt', 'ünïcödé sält', '🍪 emoji 😀 salt'] as const;
const VALUES = ['hello', '', 'héllo wörld', 'a:b:c', '中文 😀 𝄞', 'quote " backslash \\ end'];

async function tokensOf(calls: readonly DjangoCall[]): Promise<string[]> {
  const tokens = await Promise.all(calls.map((call) => call.result()));
  for (const token of tokens) assert.equal(typeof token, 'string');
  return tokens as string[];
}

/** Changes the first character of a signed value, keeping its signature. */
function tamper(token: string): string {
  return (token.startsWith('X') ? 'Y' : 'X') + token.slice(1);
}

const django = await findDjango('5.2');

describeWithDjango('signing against Django 5.2', django, (peer) => {
  const batch = new DjangoBatch(peer, { secret: SECRET });

  it('talks to Django 5.2.17 with SECRET_KEY_FALLBACKS', async () => {
    const about = await batch.about();
    assert.equal(about.django_version, '5.2.17');
    assert.equal(about.features.secret_key_fallbacks, true);
  });

  describe('Signer', () => {
    for (const salt of SALTS) {
      const signer = () => new Signer({ secret: SECRET, ...withSalt(salt) });
      const fromDjango = VALUES.map((value) => batch.add({ op: 'sign', value, ...withSalt(salt) }));
      const toDjango = VALUES.map((value) =>
        batch.add(() => ({ op: 'unsign', value: signer().sign(value), ...withSalt(salt) })),
      );

      it(`reads Django's values and signs the same bytes, ${saltLabel(salt)}`, async () => {
        const tokens = await tokensOf(fromDjango);
        assert.deepEqual(
          tokens.map((token) => signer().unsign(token)),
          VALUES,
        );
        assert.deepEqual(
          VALUES.map((value) => signer().sign(value)),
          tokens,
        );
      });

      it(`is read by Django, ${saltLabel(salt)}`, async () => {
        assert.deepEqual(await Promise.all(toDjango.map((call) => call.result())), VALUES);
      });
    }

    const options = { sep: '~', algorithm: 'sha512' } as const;
    const sha512FromDjango = batch.add({ op: 'sign', value: 'a~b:c', ...options });
    const sha512ToDjango = batch.add(() => ({
      op: 'unsign',
      value: new Signer({ secret: SECRET, ...options }).sign('a~b:c'),
      ...options,
    }));

    it('agrees with Django on another separator and sha512', async () => {
      const token = await sha512FromDjango.result();
      assert.equal(new Signer({ secret: SECRET, ...options }).sign('a~b:c'), token);
      assert.equal(await sha512ToDjango.result(), 'a~b:c');
    });
  });

  describe('TimestampSigner', () => {
    for (const salt of SALTS) {
      const fromDjango = VALUES.map((value) =>
        batch.add({ op: 'sign', timestamp: true, value, ...withSalt(salt) }),
      );
      const toDjango = VALUES.map((value) =>
        batch.add(() => ({
          op: 'unsign',
          timestamp: true,
          max_age: 60,
          value: new TimestampSigner({ secret: SECRET, ...withSalt(salt) }).sign(value),
          ...withSalt(salt),
        })),
      );

      it(`reads Django's values and signs the same bytes at the same second, ${saltLabel(salt)}`, async () => {
        const tokens = await tokensOf(fromDjango);
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

      it(`is read by Django with max_age, ${saltLabel(salt)}`, async () => {
        assert.deepEqual(await Promise.all(toDjango.map((call) => call.result())), VALUES);
      });
    }

    const djangoToken = batch.add({ op: 'sign', timestamp: true, value: 'hello' });

    it("expires Django's values by max_age", async () => {
      const token = (await djangoToken.result()) as string;
      const later = new TimestampSigner({ secret: SECRET, clock: clockAt(100) });
      assert.equal(later.unsign(token, 1000), 'hello');
      assert.throws(() => later.unsign(token, 10), SignatureExpired);
    });

    const old = () => new TimestampSigner({ secret: SECRET, clock: clockAt(-1000) }).sign('hello');
    const expiredInDjango = batch.add(() => ({
      op: 'unsign',
      timestamp: true,
      max_age: 10,
      value: old(),
    }));
    const youngEnoughInDjango = batch.add(() => ({
      op: 'unsign',
      timestamp: true,
      max_age: 5000,
      value: old(),
    }));

    it("has its timestamps checked by Django's max_age", async () => {
      assert.equal((await expiredInDjango.error()).type, 'SignatureExpired');
      assert.equal(await youngEnoughInDjango.result(), 'hello');
    });
  });

  describe('tampering', () => {
    const signer = new Signer({ secret: SECRET, salt: 'my-salt' });
    const fromDjango = batch.add({ op: 'sign', value: 'hello', salt: 'my-salt' });

    it("rejects Django's values when changed or checked with another salt or secret", async () => {
      const token = (await fromDjango.result()) as string;
      assert.throws(() => signer.unsign(tamper(token)), BadSignature);
      assert.throws(() => signer.unsign(`${token.slice(0, -43)}${'A'.repeat(43)}`), BadSignature);
      assert.throws(
        () => new Signer({ secret: SECRET, salt: 'other' }).unsign(token),
        BadSignature,
      );
      assert.throws(
        () => new Signer({ secret: OLD_SECRET, salt: 'my-salt' }).unsign(token),
        BadSignature,
      );
    });

    const rejectedByDjango = [
      batch.add(() => ({ op: 'unsign', value: tamper(signer.sign('hello')), salt: 'my-salt' })),
      batch.add(() => ({ op: 'unsign', value: signer.sign('hello'), salt: 'other' })),
      batch.add(() => ({
        op: 'unsign',
        value: signer.sign('hello'),
        salt: 'my-salt',
        secret: OLD_SECRET,
      })),
      batch.add(() => ({
        op: 'loads',
        value: tamper(dumps({ admin: false }, { secret: SECRET })),
      })),
      batch.add(() => ({
        op: 'loads',
        value: tamper(dumps(LARGE_VALUE, { secret: SECRET, compress: true })),
      })),
    ];

    it("has keepstate's values rejected by Django when changed or checked with another salt or secret", async () => {
      const errors = await Promise.all(rejectedByDjango.map((call) => call.error()));
      assert.deepEqual(
        errors.map((error) => error.type),
        rejectedByDjango.map(() => 'BadSignature'),
      );
    });
  });

  describe('dumps and loads', () => {
    for (const { label, value } of DUMPS_CASES) {
      for (const compress of [false, true]) {
        const how = `${label}${compress ? ', compressed' : ''}`;
        const fromDjango = batch.add({ op: 'dumps', value, compress });
        const toDjango = batch.add(() => ({
          op: 'loads',
          value: dumps(value, { secret: SECRET, compress }),
        }));

        it(`loads what Django dumps: ${how}`, async () => {
          const token = (await fromDjango.result()) as string;
          assert.deepEqual(loads(token, { secret: SECRET }), value);
          if (!token.startsWith('.')) {
            // Uncompressed, the bytes must match too (compressed ones depend on the zlib build).
            assert.equal(
              dumps(value, { secret: SECRET, compress, clock: () => signedAt(token) }),
              token,
            );
          }
        });

        it(`dumps what Django loads: ${how}`, async () => {
          assert.deepEqual(await toDjango.result(), value);
        });
      }
    }

    const largeFromDjango = batch.add({ op: 'dumps', value: LARGE_VALUE, compress: true });

    it('compresses a large repetitive value, as Django does', async () => {
      assert.match((await largeFromDjango.result()) as string, /^\./);
      assert.match(dumps(LARGE_VALUE, { secret: SECRET, compress: true }), /^\./);
    });

    for (const salt of ['', 'my-app.cart', '🛒 cart']) {
      const fromDjango = batch.add({ op: 'dumps', value: { cart: [1, 2] }, salt });
      const toDjango = batch.add(() => ({
        op: 'loads',
        value: dumps({ cart: [1, 2] }, { secret: SECRET, salt }),
        salt,
      }));

      it(`agrees with Django on salt ${JSON.stringify(salt)}`, async () => {
        const token = (await fromDjango.result()) as string;
        assert.deepEqual(loads(token, { secret: SECRET, salt }), { cart: [1, 2] });
        assert.throws(() => loads(token, { secret: SECRET, salt: `${salt}x` }), BadSignature);
        assert.deepEqual(await toDjango.result(), { cart: [1, 2] });
      });
    }

    const djangoToken = batch.add({ op: 'dumps', value: { a: 1 } });
    const expiredInDjango = batch.add(() => ({
      op: 'loads',
      max_age: 10,
      value: dumps({ a: 1 }, { secret: SECRET, clock: clockAt(-1000) }),
    }));

    it('applies max_age like Django, both ways', async () => {
      const token = (await djangoToken.result()) as string;
      assert.deepEqual(loads(token, { secret: SECRET, maxAge: 1000, clock: clockAt(100) }), {
        a: 1,
      });
      assert.throws(
        () => loads(token, { secret: SECRET, maxAge: 10, clock: clockAt(100) }),
        SignatureExpired,
      );
      assert.equal((await expiredInDjango.error()).type, 'SignatureExpired');
    });
  });

  describe('key rotation (SECRET_KEY_FALLBACKS)', () => {
    const signedWithOldKey = batch.add({ op: 'sign', value: 'hello', secret: OLD_SECRET });
    const dumpedWithOldKey = batch.add({
      op: 'dumps',
      value: LARGE_VALUE,
      compress: true,
      secret: OLD_SECRET,
    });

    it('reads values Django signed with a key now in fallbackSecrets', async () => {
      const token = (await signedWithOldKey.result()) as string;
      const rotated = { secret: SECRET, fallbackSecrets: [OLD_SECRET] };
      assert.equal(new Signer(rotated).unsign(token), 'hello');
      assert.throws(() => new Signer({ secret: SECRET }).unsign(token), BadSignature);
      const dumped = (await dumpedWithOldKey.result()) as string;
      assert.deepEqual(loads(dumped, rotated), LARGE_VALUE);
      assert.throws(() => loads(dumped, { secret: SECRET }), BadSignature);
    });

    const oldSigner = () => new Signer({ secret: OLD_SECRET });
    const acceptedWithFallback = [
      batch.add(() => ({
        op: 'unsign',
        value: oldSigner().sign('hello'),
        fallbacks: [OLD_SECRET],
      })),
      batch.add(() => ({
        op: 'loads',
        value: dumps(LARGE_VALUE, { secret: OLD_SECRET, compress: true }),
        fallbacks: ['unrelated', OLD_SECRET],
      })),
    ];
    const refusedWithoutFallback = batch.add(() => ({
      op: 'unsign',
      value: oldSigner().sign('hello'),
    }));
    const expiredThroughFallback = batch.add(() => ({
      op: 'unsign',
      timestamp: true,
      max_age: 10,
      fallbacks: [OLD_SECRET],
      value: new TimestampSigner({ secret: OLD_SECRET, clock: clockAt(-1000) }).sign('hello'),
    }));

    it('has values signed with an old key read by Django through SECRET_KEY_FALLBACKS', async () => {
      assert.equal(await acceptedWithFallback[0]!.result(), 'hello');
      assert.deepEqual(await acceptedWithFallback[1]!.result(), LARGE_VALUE);
      assert.equal((await refusedWithoutFallback.error()).type, 'BadSignature');
      assert.equal((await expiredThroughFallback.error()).type, 'SignatureExpired');
    });

    const djangoSignsWithCurrentKey = batch.add({
      op: 'sign',
      value: 'hello',
      fallbacks: [OLD_SECRET],
    });

    it('signs with the current secret, never a fallback, as Django does', async () => {
      const signer = new Signer({ secret: SECRET, fallbackSecrets: [OLD_SECRET] });
      assert.equal(signer.sign('hello'), await djangoSignsWithCurrentKey.result());
    });
  });
});
