const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGIT_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGIT_VALUES[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes an integer in base 62 (alphabet `0-9A-Za-z`, negatives prefixed with `-`), the form of
 * a `TimestampSigner` timestamp.
 *
 * @param n - a safe integer
 * @throws RangeError when `n` is not a safe integer
 * @see https://github.com/django/django/blob/stable/5.2.x/django/core/signing.py (`b62_encode`)
 */
export function b62Encode(n: number): string {
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`b62Encode needs a safe integer, got ${n}`);
  }
  if (n === 0) return '0';
  let rest = Math.abs(n);
  let encoded = '';
  while (rest > 0) {
    encoded = ALPHABET[rest % 62] + encoded;
    rest = Math.floor(rest / 62);
  }
  return n < 0 ? `-${encoded}` : encoded;
}

/**
 * Decodes a base-62 string made by {@link b62Encode} (or Django's `b62_encode`).
 *
 * @throws SyntaxError when `s` is empty or holds a character outside `0-9A-Za-z` (Django raises
 *   `ValueError`/`IndexError`)
 * @throws RangeError when the value is beyond `Number.MAX_SAFE_INTEGER`
 * @see https://github.com/django/django/blob/stable/5.2.x/django/core/signing.py (`b62_decode`)
 */
export function b62Decode(s: string): number {
  if (s === '') throw new SyntaxError('Cannot decode an empty base62 string');
  const negative = s.charCodeAt(0) === 0x2d;
  let decoded = 0;
  for (let i = negative ? 1 : 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const digit = code < 128 ? (DIGIT_VALUES[code] ?? -1) : -1;
    if (digit < 0) {
      throw new SyntaxError(`Invalid base62 digit ${JSON.stringify(s[i])} in ${JSON.stringify(s)}`);
    }
    decoded = decoded * 62 + digit;
  }
  if (!Number.isSafeInteger(decoded)) {
    throw new RangeError(`Base62 value ${JSON.stringify(s)} is beyond Number.MAX_SAFE_INTEGER`);
  }
  return negative && decoded !== 0 ? -decoded : decoded;
}
