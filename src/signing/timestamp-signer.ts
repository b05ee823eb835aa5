import { b62Decode, b62Encode } from './base62.js';
import { type Clock, nowMs, systemClock } from './clock.js';
import { SignatureExpired } from './errors.js';
import { pythonNumberText } from './python-float-repr.js';
import { Signer, type SignerOptions } from './signer.js';

/** Options of a {@link TimestampSigner}: those of a {@link Signer} plus the clock. */
export interface TimestampSignerOptions extends SignerOptions {
  /** Where the current instant comes from. Default {@link systemClock}; tests inject a fixed one. */
  clock?: Clock | undefined;
}

/**
 * A {@link Signer} that also signs the time, byte-compatible with Django's `TimestampSigner`:
 * `value + sep + base62(unix seconds) + sep + signature`, so that `unsign` can enforce a maximum
 * age.
 *
 * The default salt is `'django.core.signing.TimestampSigner'`.
 *
 * @example
 * new TimestampSigner({ secret: 'interop-secret', salt: 'my-salt' }).sign('hello')
 * // 'hello:1r31eq:eNdfObRfDgwKDQblWcWhVyKAEbz7Hl64ncKuS_qzIvY' at 2023-11-14T22:13:20Z
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#verifying-timestamped-values
 * @see https://github.com/django/django/blob/stable/5.2.x/django/core/signing.py
 */
export class TimestampSigner extends Signer {
  protected static override readonly defaultSalt: string = 'django.core.signing.TimestampSigner';

  readonly #clock: Clock;

  /**
   * Validates the options and derives the keys, as {@link Signer} does.
   *
   * @throws ImproperlyConfigured as {@link Signer} does
   */
  constructor(options: TimestampSignerOptions) {
    super(options);
    this.#clock = options.clock ?? systemClock;
  }

  /** Returns the current time as Django writes it: whole Unix seconds (truncated) in base 62. */
  timestamp(): string {
    return b62Encode(Math.trunc(nowMs(this.#clock) / 1000));
  }

  /** Appends the separator and the {@link timestamp}, then signs the whole. */
  override sign(value: string): string {
    return super.sign(`${value}${this.sep}${this.timestamp()}`);
  }

  /**
   * Verifies a value made by {@link sign}, then checks its age, and returns the original value.
   *
   * The signature is checked first, so a forged value always gives `BadSignature`, never
   * `SignatureExpired`. The value expires only when its age is strictly greater than `maxAge`;
   * a timestamp in the future passes.
   *
   * @param maxAge - maximum age in seconds (fractions allowed); no limit when omitted
   * @throws BadSignature when the signature does not verify
   * @throws SignatureExpired `Signature age 11 > 10 seconds` when older than `maxAge`
   * @throws SyntaxError when a validly signed value has no timestamp or a malformed one (Django:
   *   `ValueError`); this happens only for values signed by a plain `Signer` with the same salt
   */
  override unsign(signedValue: string, maxAge?: number): string {
    const result = super.unsign(signedValue);
    const index = result.lastIndexOf(this.sep);
    if (index === -1) {
      throw new SyntaxError(`Signed value has no "${this.sep}" before its timestamp`);
    }
    const timestamp = b62Decode(result.slice(index + this.sep.length));
    if (maxAge !== undefined) {
      // Milliseconds first, so that a fractional clock gives 10.5 rather than 10.500000238.
      const age = (nowMs(this.#clock) - timestamp * 1000) / 1000;
      if (age > maxAge) {
        throw new SignatureExpired(
          `Signature age ${pythonNumberText(age)} > ${pythonNumberText(maxAge)} seconds`,
        );
      }
    }
    return result.slice(0, index);
  }

  protected override unsignPayload(signedValue: string, maxAge: number | undefined): string {
    return this.unsign(signedValue, maxAge);
  }
}
