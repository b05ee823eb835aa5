/**
 * JSON values the interop tests send through Django and keepstate.
 *
 * JavaScript has no integer-valued float (Python's `1.0` arrives here as `1`), so every float in
 * here has a fractional part; and JSON.stringify puts integer-like keys first, which is the order
 * Django then receives them in, so key order never differs between the two sides.
 */

/** Values for `dumps`/`loads`, one JSON shape each. */
export const DUMPS_CASES: readonly { readonly label: string; readonly value: unknown }[] = [
  {
    label: 'a nested object',
    value: {
      user: { id: 42, name: 'Zoë', roles: ['admin', 'staff'], address: { city: 'Zürich' } },
      prefs: { theme: 'dark', beta: false, limits: { daily: 10 } },
    },
  },
  { label: 'a list of mixed values', value: [1, 'two', [3, [4, []]], { five: 5 }, {}] },
  { label: 'an integer', value: 1234567890 },
  { label: 'a negative integer', value: -7 },
  { label: 'floats', value: [1.5, 0.1, -2.25, Math.PI, 1e-7, 1.5e300] },
  { label: 'booleans and null', value: [true, false, null] },
  { label: 'null alone', value: null },
  { label: 'Chinese text', value: '中文字符，你好世界' },
  { label: 'emoji beyond the BMP', value: { '🍪': '😀🎉 𝄞', list: ['🧑‍💻'] } },
  {
    label: 'JSON-sensitive characters',
    value: 'quote " backslash \\ slash / <tag> & newline \n tab \t nul \u0000 del \u007f',
  },
  { label: 'integer-like keys', value: { b: 1, 10: 'ten', a: 2, 2: 'two' } },
  { label: 'an empty object', value: {} },
  { label: 'an empty string', value: '' },
];

/** A value big and repetitive enough that `compress: true` always compresses it. */
export const LARGE_VALUE = {
  cart: Array.from({ length: 200 }, (_, i) => ({
    sku: `SKU-${i % 10}`,
    quantity: (i % 3) + 1,
    note: 'gift wrap, same note every time',
  })),
};

/** Session data shaped like what `django.contrib.auth` and an app keep in a session. */
export const SESSION_DATA: Record<string, unknown> = {
  _auth_user_id: '42',
  _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
  _auth_user_hash: '7c0e8a3d9b5f1e2a4c6d8f0b1a3c5e7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f',
  _session_expiry: 300,
  cart: [{ sku: 'A-1', quantity: 2, price: 9.5 }],
  name: 'Zoë 中文 😀',
  seen_intro: true,
  coupon: null,
};

/** `{ salt }`, or nothing for Django's default salt (Python cannot be handed `undefined`). */
export function withSalt(salt: string | undefined): { salt?: string } {
  return salt === undefined ? {} : { salt };
}

/** How a test name says which salt it used. */
export function saltLabel(salt: string | undefined): string {
  return salt === undefined ? 'the default salt' : `salt ${JSON.stringify(salt)}`;
}

/** A clock fixed `offsetSeconds` from now. */
export function clockAt(offsetSeconds: number): () => Date {
  const at = new Date(Date.now() + offsetSeconds * 1000);
  return () => at;
}

/**
 * Session data for the round trips through each engine: one shape of value per case. Every
 * number is either an integer or has a fractional part (see above); the large case makes the
 * encoding compress.
 */
export const ROUND_TRIP_CASES: readonly {
  readonly label: string;
  readonly data: Record<string, unknown>;
}[] = [
  {
    label: 'nested objects',
    data: {
      user: { id: 42, name: 'Zoë', roles: ['admin', 'staff'], address: { city: 'Zürich' } },
      prefs: { theme: 'dark', beta: false, limits: { daily: 10, ratio: 0.75 } },
    },
  },
  { label: 'lists', data: { mixed: [1, 'two', [3, [4, []]], { five: 5 }, {}], empty: [] } },
  {
    label: 'integers and floats',
    data: {
      int: 42,
      negative: -7,
      zero: 0,
      maxSafe: Number.MAX_SAFE_INTEGER,
      half: 1.5,
      tenth: 0.1,
      pi: Math.PI,
      tiny: 1e-7,
      huge: 1.5e300,
      negativeFloat: -2.25,
    },
  },
  { label: 'booleans and null', data: { yes: true, no: false, nothing: null, list: [null, true] } },
  {
    label: 'Chinese and emoji beyond the BMP',
    data: { greeting: '中文字符，你好世界', emoji: '😀🎉 𝄞', '🍪': ['🧑‍💻', 'Zoë'] },
  },
  { label: 'a large compressible value', data: LARGE_VALUE },
  { label: 'a logged-in session', data: SESSION_DATA },
];

/** The Python type each top-level value of `data` must have once Django loads it. */
export function pythonTypes(data: Record<string, unknown>): Record<string, string> {
  const types: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    types[key] =
      value === null
        ? 'NoneType'
        : typeof value === 'boolean'
          ? 'bool'
          : typeof value === 'number'
            ? Number.isSafeInteger(value)
              ? 'int'
              : 'float'
            : typeof value === 'string'
              ? 'str'
              : Array.isArray(value)
                ? 'list'
                : 'dict';
  }
  return types;
}

/**
 * Changes one character in the payload of a signed value (its first, or the one after a leading
 * `.` of a compressed value), keeping the signature: what an attacker editing a cookie or a row
 * would do.
 */
export function tamper(token: string): string {
  const at = token.startsWith('.') ? 1 : 0;
  const next = token[at] === 'X' ? 'Y' : 'X';
  return `${token.slice(0, at)}${next}${token.slice(at + 1)}`;
}
