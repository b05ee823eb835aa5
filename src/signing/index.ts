export { b62Decode, b62Encode } from './base62.js';
export { type Clock, systemClock } from './clock.js';
export { type DumpsOptions, dumps } from './dumps.js';
export { BadSignature, SignatureExpired } from './errors.js';
export { JsonSerializer, type Serializer } from './json-serializer.js';
export { type LoadsOptions, loads } from './loads.js';
export { pythonJsonParse, pythonJsonStringify } from './python-json.js';
export { type HashAlgorithm, saltedHmac } from './salted-hmac.js';
export {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  Signer,
  type SignerOptions,
  type SignObjectOptions,
  type UnsignObjectOptions,
} from './signer.js';
export { TimestampSigner, type TimestampSignerOptions } from './timestamp-signer.js';
