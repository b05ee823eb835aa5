import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  type COOKIE_SIZE_LIMIT,
  checkCookieSize,
  SESSION_COOKIE_ADVICE,
  sessionCookieBytes,
} from '../core/cookie-size.js';
import { EXPIRY_KEY, ownExpiryTime } from '../core/expiry.js';
import type {
  SessionData,
  SessionRecord,
  SessionStore,
  StoreContext,
} from '../core/session-store.js';
import { StoreBinding } from '../core/store-binding.js';
import { ImproperlyConfigured } from '../improperly-configured.js';
import { nowMs } from '../signing/clock.js';
import type { RevocationStore } from './revocation-store.js';

/** The HKDF purpose the store's keys are derived for (see `StoreContext.deriveKeys`). */
export const ENCRYPTED_COOKIE_PURPOSE = 'keepstate.encrypted-cookie';

/** The first byte of every sealed value: the format described on {@link EncryptedCookieStore}. */
export const ENCRYPTED_COOKIE_VERSION = 1;

/** The data key Django's `login()` keeps the user's primary key under, as a string. */
const AUTH_USER_KEY = '_auth_user_id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
// Version byte, IV, at least one byte of ciphertext, tag: 30 bytes are 40 base64url characters.
const SEALED_VALUE = /^[A-Za-z0-9_-]{40,4096}$/;

/** Options of an {@link EncryptedCookieStore}'s revocation ("log out everywhere"). */
export interface RevocationOptions {
  /** Where each user's generation counter lives. */
  readonly store: RevocationStore;
  /**
   * The user a session belongs to, or `null` for an anonymous one (never looked up). Defaults to
   * Django's `_auth_user_id` (a string, or a number turned into one).
   */
  readonly userIdOf?: (data: SessionData) => string | null;
}

/** Options of an {@link EncryptedCookieStore}. */
export interface EncryptedCookieStoreOptions {
  /** Refuse cookies of users revoked since the cookie was sealed; off by default. */
  readonly revocation?: RevocationOptions;
}

/** Whose a sealed value was, and with which generation (0 when it carries none). */
interface Sealed {
  readonly userId: string | null;
  readonly generation: number;
}

/** What a sealed value holds once opened. */
interface Payload {
  readonly data: SessionData;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly generation?: number;
}

/**
 * Keeps the whole session in the cookie, encrypted and authenticated with AES-256-GCM, so nothing
 * is stored on the server and the browser can neither read nor change the data. For data the
 * visitor must not see; where they may, {@link SignedCookieStore} is Django's format.
 *
 * **Format.** The cookie value is base64url (no padding) of
 * `version (1 byte, 1) ‖ IV (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)`. The additional
 * authenticated data is the version byte followed by the cookie name in UTF-8, so a value cannot
 * be moved to a cookie of another name. The plaintext is the JSON text
 * `{"data":{…},"issuedAt":ms,"expiresAt":ms,"generation":n}` (instants in milliseconds since the
 * epoch; `generation` only with revocation and a user). It is not compressed: compressing
 * visitor-controlled data next to secrets would leak them through the cookie's length.
 *
 * **Keys.** `deriveKeys('keepstate.encrypted-cookie')` of the manager: HKDF-SHA256 of the secret
 * seals, and every key (the secret's, then each fallback secret's) opens. A cookie opened with a
 * fallback secret's key is sealed again with the current one on the same response, even when the
 * handler only read it, so rotating the secret re-encrypts every active session. Each seal draws
 * a random IV: with one key, keep well below 2^32 seals (rotate the secret long before), as NIST
 * SP 800-38D requires for random IVs.
 *
 * **Expiry**, enforced on load from inside the sealed payload: the cookie is refused at exactly
 * the earliest of its sealed `expiresAt`, `issuedAt` plus the manager's current `cookieAge`, and
 * the session's own `setExpiry` (a number of seconds counts from `issuedAt`, an ISO instant is
 * absolute). Saving seals again, so a number of seconds is an inactivity timeout.
 *
 * **Refused values** (not base64url, unknown version, forged, tampered, another cookie's, sealed
 * with an unknown secret, unreadable) load as no session, with one warning on the security
 * logger, and never throw. Expired and revoked cookies load as no session silently.
 *
 * **Revocation** (optional, `revocation: { store }`): a per-user generation counter in a small
 * server-side {@link RevocationStore}. A session with a user (Django's `_auth_user_id`) is sealed
 * with the user's generation and refused once {@link revokeUser} has bumped it: "log out
 * everywhere" for a cookie store. It costs one `generation` lookup on each load of a logged-in
 * session, and on the save that logs a user in. A revocation while a request of that user runs
 * still wins: the cookie that request sets keeps the generation it was loaded with, so the next
 * request refuses it. A failing revocation store fails the request (`StoreError`) rather than
 * let a revoked cookie through.
 *
 * **Limits.** Without revocation a copied cookie stays valid until it expires: `delete` does
 * nothing and `exists` is always `false`. The data must fit in one cookie: `create`/`save` throw
 * {@link CookieTooLarge} before anything is sent when the cookie would pass
 * {@link COOKIE_SIZE_LIMIT} bytes. Data is written with `JSON.stringify`.
 *
 * @example
 * const sessions = new SessionManager({
 *   secret: process.env.SECRET_KEY!,
 *   fallbackSecrets: [process.env.OLD_SECRET_KEY!],
 *   store: new EncryptedCookieStore({ revocation: { store: new RedisRevocationStore(redis) } }),
 * });
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf
 * @see https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cookie-based-sessions
 */
export class EncryptedCookieStore implements SessionStore {
  /** `true`: a cookie expires by itself, there is nothing on the server to sweep. */
  readonly selfExpiring = true;
  readonly #binding = new StoreBinding('EncryptedCookieStore');
  readonly #revocation: Required<RevocationOptions> | null;
  #keys: readonly Buffer[] = [];
  /**
   * For the data of each session loaded, the user and generation its cookie was sealed with
   * (taken at load: the session changes the data afterwards). Weak: gone with the request.
   */
  readonly #opened = new WeakMap<SessionData, Sealed>();

  /** @throws ImproperlyConfigured when `revocation.store` is not a {@link RevocationStore} */
  constructor(options: EncryptedCookieStoreOptions = {}) {
    const revocation = options.revocation;
    if (revocation === undefined) {
      this.#revocation = null;
      return;
    }
    const store = revocation.store as Partial<RevocationStore> | undefined;
    if (typeof store?.generation !== 'function' || typeof store.revoke !== 'function') {
      throw new ImproperlyConfigured(
        'keepstate: EncryptedCookieStore option `revocation.store` must be a RevocationStore (with `generation` and `revoke`), such as new MemoryRevocationStore() or new RedisRevocationStore(redis).',
      );
    }
    this.#revocation = { store: revocation.store, userIdOf: revocation.userIdOf ?? djangoUserId };
  }

  /** Takes the manager's derived keys, clock, cookie age, cookie name and logger. */
  attach(context: StoreContext): void {
    this.#binding.attach(context);
    this.#keys = context.deriveKeys(ENCRYPTED_COOKIE_PURPOSE);
  }

  /** Whether `value` looks like a sealed value: base64url, 40 to 4,096 characters. */
  isValidKey(value: string): boolean {
    return SEALED_VALUE.test(value);
  }

  /**
   * Opens the cookie value and returns its data, or `null` when it does not open (with one
   * warning on the security logger), has expired, or was revoked. The record asks to be saved
   * again (`resave`) when a fallback secret's key opened it.
   *
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   * @throws StoreError when the revocation store fails
   */
  async load(value: string): Promise<SessionRecord | null> {
    const { clock, cookieAge, logger } = this.#binding.context;
    const opened = this.#open(value, (reason) =>
      logger.warn(`Session cookie refused: ${reason}`, { length: value.length }),
    );
    if (opened === null) return null;
    const { payload, keyIndex } = opened;
    const deadline = Math.min(
      payload.expiresAt,
      payload.issuedAt + cookieAge * 1000,
      ownExpiryTime(payload.data[EXPIRY_KEY], payload.issuedAt) ?? Number.POSITIVE_INFINITY,
    );
    if (nowMs(clock) >= deadline) return null;
    if (await this.#revoked(payload)) return null;
    this.#opened.set(payload.data, this.#sealedAs(payload));
    const record = { sessionKey: value, data: payload.data, expiresAt: new Date(deadline) };
    // Opened with a fallback secret's key: seal it again with the current one on this response.
    return keyIndex > 0 ? { ...record, resave: true } : record;
  }

  /**
   * Seals the data into a cookie value.
   * @throws CookieTooLarge when the cookie would pass {@link COOKIE_SIZE_LIMIT} bytes
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   * @throws StoreError when the revocation store fails
   */
  async create(record: SessionRecord): Promise<string> {
    return this.#seal(record, await this.#generationFor(record.data, null));
  }

  /**
   * Seals the data into a new cookie value, as {@link create} does; `record.sessionKey` is the
   * value it replaces.
   * @throws CookieTooLarge when the cookie would pass {@link COOKIE_SIZE_LIMIT} bytes
   * @throws ImproperlyConfigured when no {@link SessionManager} attached the store
   * @throws StoreError when the revocation store fails
   */
  async save(record: SessionRecord): Promise<string> {
    return this.#seal(record, await this.#generationFor(record.data, record.sessionKey));
  }

  /**
   * Does nothing: there is no server-side record. Logging out empties the session and the
   * manager deletes the cookie from this browser; to end the other copies too, {@link revokeUser}.
   */
  async delete(_value: string): Promise<void> {}

  /** Always `false`: there is no server-side record. */
  async exists(_value: string): Promise<boolean> {
    return false;
  }

  /** Does nothing and returns 0: an expired cookie fails its checks on load; nothing is stored. */
  async clearExpired(): Promise<number> {
    return 0;
  }

  /**
   * Ends every session of `userId` in every browser ("log out everywhere"): bumps the user's
   * generation, so each cookie sealed for them before is refused on its next request.
   *
   * @param userId - as the sessions hold it (Django's `_auth_user_id`); a number is turned into
   *   its string
   * @returns the user's new generation
   * @throws ImproperlyConfigured when the store has no `revocation` option
   * @throws StoreError when the revocation store fails
   */
  async revokeUser(userId: string | number): Promise<number> {
    if (this.#revocation === null) {
      throw new ImproperlyConfigured(
        'keepstate: EncryptedCookieStore.revokeUser needs the `revocation` option: new EncryptedCookieStore({ revocation: { store: new RedisRevocationStore(redis) } }).',
      );
    }
    return this.#revocation.store.revoke(String(userId));
  }

  /** Whether the payload's user was revoked after it was sealed. */
  async #revoked(payload: Payload): Promise<boolean> {
    const userId = this.#revocation?.userIdOf(payload.data) ?? null;
    if (this.#revocation === null || userId === null) return false;
    return (payload.generation ?? 0) < (await this.#revocation.store.generation(userId));
  }

  /**
   * The generation to seal `data` with: `undefined` without revocation or a user. A session
   * opened from a cookie of the same user keeps that cookie's generation, so a revocation during
   * this request still refuses the cookie it sets; any other (a login) gets the current one.
   */
  async #generationFor(data: SessionData, previous: string | null): Promise<number | undefined> {
    const userId = this.#revocation?.userIdOf(data) ?? null;
    if (this.#revocation === null || userId === null) return undefined;
    // `save` names the value it replaces; `create` (cycleKey) does not, but gets the very data
    // object that load returned. The value was opened on load already: no warning here.
    const reopened = previous === null ? null : this.#open(previous, () => {});
    const sealed = reopened === null ? this.#opened.get(data) : this.#sealedAs(reopened.payload);
    if (sealed?.userId === userId) return sealed.generation;
    return this.#revocation.store.generation(userId);
  }

  #sealedAs(payload: Payload): Sealed {
    return {
      userId: this.#revocation?.userIdOf(payload.data) ?? null,
      generation: payload.generation ?? 0,
    };
  }

  #seal(record: SessionRecord, generation: number | undefined): string {
    const { cookieName, clock } = this.#binding.context;
    const [key] = this.#keys;
    if (key === undefined) throw new Error('keepstate: the manager derived no key');
    const now = clock();
    const payload: Payload = {
      data: record.data,
      issuedAt: now.getTime(),
      expiresAt: record.expiresAt.getTime(),
      ...(generation !== undefined && { generation }),
    };
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(cookieName));
    const ciphertext = Buffer.concat([
      cipher.update(JSON.stringify(payload), 'utf8'),
      cipher.final(),
    ]);
    const value = Buffer.concat([
      Buffer.of(ENCRYPTED_COOKIE_VERSION),
      iv,
      ciphertext,
      cipher.getAuthTag(),
    ]).toString('base64url');
    const maxAge = (record.expiresAt.getTime() - now.getTime()) / 1000;
    checkCookieSize(
      cookieName,
      sessionCookieBytes(cookieName, value, maxAge),
      SESSION_COOKIE_ADVICE,
    );
    return value;
  }

  /**
   * The payload of a sealed value and the index of the key that opened it, or `null` (after one
   * call of `refuse` with the reason) when it does not open. Never throws on any input.
   */
  #open(
    value: string,
    refuse: (reason: string) => void,
  ): { payload: Payload; keyIndex: number } | null {
    const { cookieName } = this.#binding.context;
    const refused = (reason: string) => {
      refuse(reason);
      return null;
    };
    if (!SEALED_VALUE.test(value)) return refused('not a sealed value');
    const bytes = Buffer.from(value, 'base64url');
    // Base64 has several spellings of the same bytes (the last character's spare bits): accept
    // only the one this store writes, so any changed character is a refused value.
    if (bytes.toString('base64url') !== value) return refused('not a sealed value');
    if (bytes[0] !== ENCRYPTED_COOKIE_VERSION) return refused('unknown format version');
    const iv = bytes.subarray(1, 1 + IV_BYTES);
    const ciphertext = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    const aad = associatedData(cookieName);
    for (const [keyIndex, key] of this.#keys.entries()) {
      let plaintext: string;
      try {
        // authTagLength pins the tag to 16 bytes: a shorter one would be easier to forge.
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        continue;
      }
      const payload = parsePayload(plaintext);
      if (payload === null) return refused('the sealed payload is unreadable');
      return { payload, keyIndex };
    }
    return refused('it does not decrypt with the secret or a fallback secret');
  }
}

/** The version byte, then the cookie name: binds a value to its format and its cookie. */
function associatedData(cookieName: string): Buffer {
  return Buffer.concat([Buffer.of(ENCRYPTED_COOKIE_VERSION), Buffer.from(cookieName, 'utf8')]);
}

function parsePayload(text: string): Payload | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isPlainObject(value) || !isPlainObject(value.data)) return null;
  const { data, issuedAt, expiresAt, generation } = value;
  if (!Number.isFinite(issuedAt) || !Number.isFinite(expiresAt)) return null;
  if (generation !== undefined && !(Number.isSafeInteger(generation) && Number(generation) >= 0)) {
    return null;
  }
  return {
    data,
    issuedAt: issuedAt as number,
    expiresAt: expiresAt as number,
    ...(generation !== undefined && { generation: generation as number }),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Django's `_auth_user_id`, as a string, or `null` for an anonymous session. */
function djangoUserId(data: SessionData): string | null {
  const id = data[AUTH_USER_KEY];
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return null;
}
