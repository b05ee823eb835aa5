/**
 * Formats a number the way Python's `repr(float)` does: the same shortest round-trip digits as
 * JavaScript, but in Python's layout.
 *
 * Python switches to scientific notation when the decimal exponent is below -4 or at least 16
 * (JavaScript: below -6 or at least 21), writes the exponent with a sign and at least two digits
 * (`1e-07`, `1e+20`), and keeps `.0` on integral values (`1e15` → `1000000000000000.0`).
 * Non-finite values give `nan`, `inf` and `-inf` as `repr` does (JSON writes them differently).
 *
 * @see https://docs.python.org/3/tutorial/floatingpoint.html#representation-error
 */
export function pythonFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  // toExponential() with no argument yields the shortest digits that round-trip.
  const [mantissa = '0', exponentText = '0'] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const magnitude = Math.abs(exponent);
    return `${sign}${head}e${exponent < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const integerPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${integerPart}.${fraction === '' ? '0' : fraction}`;
}

/**
 * Formats a number as Python prints the value Django computed: integral values as integers
 * (`11`), others through {@link pythonFloatRepr} (`10.5`).
 *
 * Used for Django's `SignatureExpired` message, where Django's recorded output shows `11` for an
 * integral age.
 */
export function pythonNumberText(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : pythonFloatRepr(n);
}
