import { pythonFloatRepr } from './python-float-repr.js';

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
  34: '\\"',
  92: '\\\\',
};

function escapeCodeUnit(code: number): string {
  return SHORT_ESCAPES[code] ?? `\\u${code.toString(16).padStart(4, '0')}`;
}

function quote(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    // ensure_ascii: only 0x20-0x7e are written as is, and of those only `"` and `\` are escaped.
    if (code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c) continue;
    if (i > last) out += s.slice(last, i);
    // Astral characters arrive as two UTF-16 code units and so become a surrogate pair, as in Python.
    out += escapeCodeUnit(code);
    last = i + 1;
  }
  return last === 0 ? `"${s}"` : `"${out}${s.slice(last)}"`;
}

function numberText(n: number): string {
  if (Number.isSafeInteger(n)) return String(n);
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return 'Infinity';
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
  return pythonFloatRepr(n);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'Object';
  return typeof value;
}

function mapKeyText(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return key;
    case 'number':
      return numberText(key);
    case 'bigint':
      return key.toString();
    case 'boolean':
      return key ? 'true' : 'false';
    default:
      if (key === null) return 'null';
      throw new TypeError(`keys must be str, int, float, bool or None, not ${typeName(key)}`);
  }
}

function serialize(value: unknown, key: string, stack: Set<object>): string | undefined {
  let current = value;
  if ((typeof current === 'object' && current !== null) || typeof current === 'bigint') {
    const toJSON = (current as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') current = toJSON.call(current, key);
  }
  if (current instanceof Number || current instanceof String || current instanceof Boolean) {
    current = current.valueOf();
  }
  switch (typeof current) {
    case 'string':
      return quote(current);
    case 'number':
      return numberText(current);
    case 'bigint':
      return current.toString();
    case 'boolean':
      return current ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (current === null) return 'null';
  const object = current as object;
  if (stack.has(object)) throw new TypeError('Circular reference detected');
  stack.add(object);
  try {
    if (Array.isArray(object)) {
      const items = object.map((item, index) => serialize(item, String(index), stack) ?? 'null');
      return `[${items.join(',')}]`;
    }
    const members: string[] = [];
    if (object instanceof Map) {
      for (const [memberKey, memberValue] of object) {
        const keyText = mapKeyText(memberKey);
        const text = serialize(memberValue, keyText, stack);
        if (text !== undefined) members.push(`${quote(keyText)}:${text}`);
      }
    } else if (object instanceof Set) {
      throw new TypeError('Object of type Set is not JSON serializable (use an array)');
    } else {
      for (const memberKey of Object.keys(object)) {
        const text = serialize((object as Record<string, unknown>)[memberKey], memberKey, stack);
        if (text !== undefined) members.push(`${quote(memberKey)}:${text}`);
      }
    }
    return `{${members.join(',')}}`;
  } finally {
    stack.delete(object);
  }
}

/**
 * Serializes a value exactly as Python's `json.dumps(value, separators=(',', ':'))` does, the
 * serialization inside every Django signed token and session.
 *
 * - Output is pure ASCII: every character outside 0x20-0x7e (DEL and non-ASCII included) is
 *   escaped as lowercase `\uXXXX` (astral characters as a surrogate pair), control characters as
 *   `\b \f \n \r \t` where one exists; `/`, `<`, `&` are not escaped.
 * - Object members keep insertion order (JavaScript still lists integer-like keys first; use a
 *   `Map` to control the order completely; its keys may be strings, numbers, bigints, booleans or
 *   null and are converted as Python converts dict keys).
 * - Safe integers and bigints are written as integers; every other number in Python's float
 *   `repr` (`0.1`, `1e-07`, `1e+20`, `9007199254740994.0`), `NaN`, `Infinity`, `-Infinity`.
 *   JavaScript cannot tell `1.0` from `1`: an integral safe number is always written as the
 *   integer `1`, where Python writes a float as `1.0`. Both decode to the same value.
 * - Like `JSON.stringify`: `toJSON` is honoured (a `Date` becomes its ISO string), boxed
 *   primitives are unwrapped, `undefined`/functions/symbols are skipped in objects and become
 *   `null` in arrays.
 *
 * @throws TypeError for a circular structure, a `Set`, an unsupported `Map` key, or when the value
 *   itself is `undefined`, a function or a symbol
 * @see https://docs.python.org/3/library/json.html#json.dumps
 */
export function pythonJsonStringify(value: unknown): string {
  const text = serialize(value, '', new Set());
  if (text === undefined) {
    throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
  }
  return text;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;

class PythonJsonParser {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  parse(): unknown {
    this.#skipWhitespace();
    const value = this.#value();
    this.#skipWhitespace();
    if (this.#pos < this.#text.length) this.#fail('Extra data');
    return value;
  }

  #fail(message: string): never {
    throw new SyntaxError(`${message} in JSON at position ${this.#pos}`);
  }

  #skipWhitespace(): void {
    const text = this.#text;
    while (this.#pos < text.length) {
      const code = text.charCodeAt(this.#pos);
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return;
      this.#pos++;
    }
  }

  #expect(char: string): void {
    if (this.#text[this.#pos] !== char) this.#fail(`Expecting '${char}'`);
    this.#pos++;
  }

  #literal<T>(word: string, value: T): T {
    if (!this.#text.startsWith(word, this.#pos)) this.#fail('Expecting value');
    this.#pos += word.length;
    return value;
  }

  #value(): unknown {
    switch (this.#text[this.#pos]) {
      case '{':
        return this.#object();
      case '[':
        return this.#array();
      case '"':
        return this.#string();
      case 'n':
        return this.#literal('null', null);
      case 't':
        return this.#literal('true', true);
      case 'f':
        return this.#literal('false', false);
      case 'N':
        return this.#literal('NaN', Number.NaN);
      case 'I':
        return this.#literal('Infinity', Number.POSITIVE_INFINITY);
      default:
        if (this.#text.startsWith('-Infinity', this.#pos)) {
          return this.#literal('-Infinity', Number.NEGATIVE_INFINITY);
        }
        return this.#number();
    }
  }

  #number(): number | bigint {
    NUMBER.lastIndex = this.#pos;
    const match = NUMBER.exec(this.#text);
    if (match === null) this.#fail('Expecting value');
    this.#pos += match[0].length;
    const value = Number(match[0]);
    // Python keeps integers exact at any size: so does a bigint, which pythonJsonStringify
    // writes back as the same digits.
    if (!Number.isSafeInteger(value) && /^-?\d+$/.test(match[0])) return BigInt(match[0]);
    return value;
  }

  #string(): string {
    const text = this.#text;
    let end = this.#pos + 1;
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    if (end >= text.length) this.#fail('Unterminated string starting');
    // JSON.parse applies the escape and control-character rules, which match Python's strict mode.
    const value = JSON.parse(text.slice(this.#pos, end + 1)) as string;
    this.#pos = end + 1;
    return value;
  }

  #array(): unknown[] {
    this.#pos++;
    const items: unknown[] = [];
    this.#skipWhitespace();
    if (this.#text[this.#pos] === ']') {
      this.#pos++;
      return items;
    }
    for (;;) {
      this.#skipWhitespace();
      items.push(this.#value());
      this.#skipWhitespace();
      if (this.#text[this.#pos] === ']') {
        this.#pos++;
        return items;
      }
      this.#expect(',');
    }
  }

  #object(): Record<string, unknown> {
    this.#pos++;
    const object: Record<string, unknown> = {};
    this.#skipWhitespace();
    if (this.#text[this.#pos] === '}') {
      this.#pos++;
      return object;
    }
    for (;;) {
      this.#skipWhitespace();
      if (this.#text[this.#pos] !== '"')
        this.#fail('Expecting property name enclosed in double quotes');
      const key = this.#string();
      this.#skipWhitespace();
      this.#expect(':');
      this.#skipWhitespace();
      // defineProperty, as JSON.parse does, so a "__proto__" key stays plain data.
      Object.defineProperty(object, key, {
        value: this.#value(),
        writable: true,
        enumerable: true,
        configurable: true,
      });
      this.#skipWhitespace();
      if (this.#text[this.#pos] === '}') {
        this.#pos++;
        return object;
      }
      this.#expect(',');
    }
  }
}

// 16 digits in a row: the shortest text that can hold an integer beyond 2^53 (9007199254740993).
const LONG_DIGITS = /\d{16}/;

/**
 * Parses JSON the way Python's `json.loads` does: standard JSON plus the `NaN`, `Infinity` and
 * `-Infinity` that {@link pythonJsonStringify} and Python write for non-finite floats.
 *
 * Standard JSON goes through `JSON.parse`. The slower Python-compatible parser takes text that
 * `JSON.parse` refuses and that mentions `NaN` or `Infinity`, and text with a run of 16 or more
 * digits, which may be an integer beyond `Number.MAX_SAFE_INTEGER`: such integers come back as
 * `bigint`, exact as in Python, so saving the data again writes the same digits.
 *
 * @throws SyntaxError when the text is not valid (Python raises `json.JSONDecodeError`)
 * @see https://docs.python.org/3/library/json.html#json.loads
 */
export function pythonJsonParse(text: string): unknown {
  if (LONG_DIGITS.test(text)) return new PythonJsonParser(text).parse();
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!text.includes('NaN') && !text.includes('Infinity')) throw error;
    return new PythonJsonParser(text).parse();
  }
}
