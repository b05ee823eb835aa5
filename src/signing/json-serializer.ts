import { pythonJsonParse, pythonJsonStringify } from './python-json.js';

/**
 * Turns values into bytes and back for signed objects; the contract of Django's `serializer`
 * argument (an object here, where Django takes a class).
 *
 * `loads` receives bytes whose signature has already been verified.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#django.core.signing.dumps
 */
export interface Serializer {
  dumps(value: unknown): Buffer;
  loads(data: Buffer): unknown;
}

/**
 * Django's `JSONSerializer`: `json.dumps(value, separators=(',', ':'))` encoded as latin-1, and
 * `json.loads` of the bytes decoded as latin-1.
 *
 * The output is always ASCII (see {@link pythonJsonStringify}). Decoding as latin-1 mirrors
 * Django: raw UTF-8 bytes in a payload come back as mojibake (`"é"` in UTF-8 reads as `"Ã©"`).
 *
 * @throws TypeError from `dumps` for values JSON cannot hold; SyntaxError from `loads` for
 *   invalid JSON (Django: `json.JSONDecodeError`)
 * @see https://github.com/django/django/blob/stable/5.2.x/django/core/signing.py (`JSONSerializer`)
 */
export const JsonSerializer: Serializer = {
  dumps(value: unknown): Buffer {
    return Buffer.from(pythonJsonStringify(value), 'latin1');
  },
  loads(data: Buffer): unknown {
    return pythonJsonParse(data.toString('latin1'));
  },
};
