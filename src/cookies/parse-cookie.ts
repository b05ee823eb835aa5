/**
 * Parses a `Cookie` request header into a name-to-value record with Django's `parse_cookie`
 * rules, but for one: names are trimmed of space and tab only.
 *
 * The header is split on `;`, each chunk at its first `=` (a chunk with no `=` has the name `''`,
 * after Mozilla bug 169091). The name is stripped of spaces and tabs (RFC 6265's whitespace), the
 * value of Python whitespace as in Django; chunks that end up with an empty name and an empty
 * value are skipped. Django strips names of Python whitespace too, which lets a cookie named
 * `\u00a0__Host-x` (which a browser does not treat as `__Host-`, so any subdomain or plain-HTTP
 * page can set it) pass for `__Host-x`; keepstate keeps such a name as it is. **When a name
 * repeats, the last value wins**
 * (Django's rule; the `cookie` package's `parse` keeps the first). A value wrapped in double quotes
 * is unquoted with the rules of Python's `http.cookies._unquote`: `\"` and `\\` become the escaped
 * character and a 3-digit octal escape (`\351`) becomes the Latin-1 character of that byte, with no
 * UTF-8 decoding (`"\303\251"` gives `Ã©`). A value with an unbalanced quote is kept as it is, and
 * values are never percent-decoded.
 *
 * The function is total: it never throws (a missing or non-string header gives an empty record),
 * runs in time linear in the header length, and accepts header strings as Node.js gives them (each
 * byte one Latin-1 character, so invalid UTF-8 is harmless). The result has a `null` prototype, so
 * a cookie named `__proto__` or `constructor` is an ordinary entry and cannot pollute prototypes.
 *
 * @param header - the raw `Cookie` header value, or `undefined`/`null` when the request has none.
 * @returns a record with a `null` prototype mapping each cookie name to its value.
 * @see https://github.com/django/django/blob/stable/5.2.x/django/http/cookie.py
 */
export function parseCookie(header: string | undefined | null): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null);
  if (typeof header !== 'string') return cookies;
  const length = header.length;
  // The position of the next '=' is remembered across chunks: searching for it afresh in every
  // chunk would rescan the rest of the header each time (quadratic on a header like ";;;;...=").
  let nextEquals = header.indexOf('=');
  let start = 0;
  while (start <= length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    if (nextEquals !== -1 && nextEquals < start) nextEquals = header.indexOf('=', start);
    let name = '';
    let value: string;
    if (nextEquals !== -1 && nextEquals < end) {
      name = stripSpaceAndTab(header.slice(start, nextEquals));
      value = stripPythonWhitespace(header.slice(nextEquals + 1, end));
    } else {
      value = stripPythonWhitespace(header.slice(start, end));
    }
    if (name !== '' || value !== '') cookies[name] = unquote(value);
    start = end + 1;
  }
  return cookies;
}

/** RFC 6265's optional whitespace around a name: spaces and tabs, nothing else. */
function stripSpaceAndTab(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpaceOrTab(text.charCodeAt(start))) start++;
  while (end > start && isSpaceOrTab(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isSpaceOrTab(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Python's `str.strip()`: removes the characters for which `str.isspace()` is true (not JS `trim`). */
function stripPythonWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPythonWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isPythonWhitespace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isPythonWhitespace(code: number): boolean {
  // JS `trim` differs: it strips U+FEFF and keeps U+001C..U+001F and U+0085.
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code >= 0x1c;
  if (code < 0x85) return false;
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/**
 * Python's `http.cookies._unquote`, scanned once from left to right: a backslash followed by
 * `[0-3][0-7][0-7]` is that byte as a Latin-1 character; a backslash followed by any character but a
 * newline is that character; any other backslash stays.
 */
function unquote(value: string): string {
  const last = value.length - 1;
  if (last < 1 || value.charCodeAt(0) !== 0x22 || value.charCodeAt(last) !== 0x22) return value;
  const inner = value.slice(1, last);
  let backslash = inner.indexOf('\\');
  if (backslash === -1) return inner;
  const parts: string[] = [];
  let copied = 0;
  while (backslash !== -1) {
    parts.push(inner.slice(copied, backslash));
    const octal = octalByte(inner, backslash + 1);
    if (octal !== -1) {
      parts.push(String.fromCharCode(octal));
      copied = backslash + 4;
    } else if (backslash + 1 < inner.length && inner.charCodeAt(backslash + 1) !== 0x0a) {
      parts.push(inner.charAt(backslash + 1));
      copied = backslash + 2;
    } else {
      parts.push('\\');
      copied = backslash + 1;
    }
    backslash = inner.indexOf('\\', copied);
  }
  parts.push(inner.slice(copied));
  return parts.join('');
}

/** The byte written as three octal digits `[0-3][0-7][0-7]` at `index`, or -1. */
function octalByte(text: string, index: number): number {
  if (index + 3 > text.length) return -1;
  const a = text.charCodeAt(index) - 0x30;
  const b = text.charCodeAt(index + 1) - 0x30;
  const c = text.charCodeAt(index + 2) - 0x30;
  if (a < 0 || a > 3 || b < 0 || b > 7 || c < 0 || c > 7) return -1;
  return a * 64 + b * 8 + c;
}

/**
 * The value of one cookie in a `Cookie` request header, or `undefined` when it is not there:
 * exactly `parseCookie(header)[name]`, with the same rules (the last occurrence wins, names
 * trimmed of spaces and tabs, values of Python whitespace, then unquoted), but without building
 * the record, so a request that needs one cookie (the session's) pays for that one only.
 *
 * Total like {@link parseCookie}: it never throws and runs in time linear in the header length.
 *
 * @param header - the raw `Cookie` header value, or `undefined`/`null` when the request has none.
 * @param name - the cookie name to look for (`''` finds the value of a chunk with no `=`).
 * @see https://github.com/django/django/blob/stable/5.2.x/django/http/cookie.py
 */
export function readCookie(header: string | undefined | null, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  // A named cookie is found by its name; only the chunk(s) holding it are sliced. The search
  // runs backwards, since the last occurrence wins.
  if (name !== '') {
    // No chunk has such a name: a name ends at its chunk's first `=`, and is trimmed.
    if (
      name.includes('=') ||
      name.includes(';') ||
      isSpaceOrTab(name.charCodeAt(0)) ||
      isSpaceOrTab(name.charCodeAt(name.length - 1))
    ) {
      return undefined;
    }
    let at = header.lastIndexOf(name);
    while (at !== -1) {
      const value = valueAt(header, name, at);
      if (value !== undefined) return value;
      at = at === 0 ? -1 : header.lastIndexOf(name, at - 1);
    }
    return undefined;
  }
  return parseCookie(header)[name];
}

/** The unquoted value when `name` at `at` is the whole name of its chunk, else `undefined`. */
function valueAt(header: string, name: string, at: number): string | undefined {
  // Before the name: only spaces and tabs back to the chunk's start (a `;` or the header's).
  let before = at - 1;
  while (before >= 0 && isSpaceOrTab(header.charCodeAt(before))) before--;
  if (before >= 0 && header.charCodeAt(before) !== 0x3b) return undefined;
  // After the name: only spaces and tabs up to the chunk's first `=`.
  let after = at + name.length;
  while (after < header.length && isSpaceOrTab(header.charCodeAt(after))) after++;
  if (after >= header.length || header.charCodeAt(after) !== 0x3d) return undefined;
  let end = header.indexOf(';', after + 1);
  if (end === -1) end = header.length;
  return unquote(stripPythonWhitespace(header.slice(after + 1, end)));
}
