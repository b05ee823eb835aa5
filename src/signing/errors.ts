/**
 * Thrown when a signed value does not verify: the separator is missing or no configured secret
 * produces its signature.
 *
 * The message is Django's own text (`No ":" found in value`, `Signature "…" does not match`), so
 * logs read the same on both sides. Treat it as untrusted input, never as a server error.
 *
 * A value whose signature verifies but whose content cannot be decoded is not a `BadSignature`:
 * like Django, which lets `ValueError`, `json.JSONDecodeError` and `zlib.error` escape, keepstate
 * throws a `SyntaxError` (malformed timestamp or JSON), the `node:zlib` error (corrupt compressed
 * data) or a `RangeError` (decompressed size over the cap).
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#django.core.signing.BadSignature
 */
export class BadSignature extends Error {
  override readonly name: 'BadSignature' | 'SignatureExpired' = 'BadSignature';
}

/**
 * Thrown by a timestamped unsign when the signature is valid but older than `maxAge`; it is also a
 * {@link BadSignature}, so one `catch` handles both.
 *
 * The message is Django's: `Signature age 11 > 10 seconds`.
 *
 * @see https://docs.djangoproject.com/en/5.2/topics/signing/#django.core.signing.SignatureExpired
 */
export class SignatureExpired extends BadSignature {
  override readonly name = 'SignatureExpired';
}
