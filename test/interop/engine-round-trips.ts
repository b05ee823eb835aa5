/**
 * One list of round trips, run for every session engine keepstate shares with Django (db on
 * SQLite and on PostgreSQL, file, signed_cookies, django-redis-sessions) and for Django 5.2 and
 * 3.2: Django writes through its `SessionMiddleware` and keepstate reads through a
 * `SessionManager` on the same storage, and the other way round, for every kind of data and
 * every `set_expiry` mode; key rotation, tampering, expiry and logout, both ways.
 *
 * Django's `timezone.now()` is frozen at {@link T0} for the operations that compute an expiry
 * (the peer's `now`), and keepstate's clock stands at the same instant, so both sides must report
 * the very same ages, dates and `expire_date` rows. Where the two differ on purpose, the test
 * says so in its name and the guide (docs/sharing-sessions-with-django.md) documents it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SecurityLogger } from '../../src/core/security-logger.js';
import type { Session } from '../../src/core/session.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionData, SessionStore } from '../../src/core/session-store.js';
import {
  type DjangoAvailability,
  DjangoBatch,
  type DjangoBatchDefaults,
  type DjangoCall,
  type DjangoOp,
  type DjangoPeer,
  type DjangoRelease,
  type DjangoSettings,
  describeWithDjango,
} from '../support/django.js';
import { pythonTypes, ROUND_TRIP_CASES } from './values.js';

/** A Django session engine, as the peer names it. */
export type DjangoEngine = 'db' | 'file' | 'signed_cookies' | 'redis';

/** The instant both sides take as "now": the start of this test file, to the whole second. */
export const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
/** `SECRET_KEY` of both sides. */
export const SECRET = 'keepstate-interop-secret-0123456789abcdef';
/** A retired `SECRET_KEY`, kept in `fallbackSecrets` / `SECRET_KEY_FALLBACKS`. */
export const OLD_SECRET = 'keepstate-interop-old-secret-0123456789ab';
/** Django's default `SESSION_COOKIE_AGE`, which both sides use. */
export const COOKIE_AGE = 1_209_600;

const DAY = 86_400;

/** What an engine's test file provides: the storage both sides share. */
export interface EngineHarness {
  readonly engine: DjangoEngine;
  /** How test titles name the storage, e.g. "the db engine on SQLite". */
  readonly title: string;
  /** Django's configuration for this storage. */
  readonly settings: DjangoSettings;
  /** Makes the storage ready (Django's `migrate`, say) before any test runs. */
  prepare?(peer: DjangoPeer, defaults: DjangoBatchDefaults): Promise<void>;
  /** A keepstate store on the same storage; each manager gets its own. */
  store(): SessionStore;
  /**
   * Changes a stored session's signed data behind both sides' backs; resolves to the cookie
   * value that finds the changed session (the same key for server-side engines).
   */
  tamper(cookieValue: string): Promise<string>;
  /** Frees the storage after the suite. */
  cleanup(): Promise<void>;
}

/** An expiry as both sides set it; `none` removes one set before it (set_expiry(None)). */
export type ExpirySpec =
  | { readonly seconds: number }
  | { readonly datetime: string }
  | { readonly none: true };

/** What a view does to a session, on either side. */
export type Action =
  | { readonly update: Record<string, unknown> }
  | { readonly set_expiry: ExpirySpec }
  | { readonly clear: true }
  | { readonly flush: true }
  | { readonly cycle_key: true }
  | { readonly to_float: string };

/** A value Django computed, or the exception it raised computing it. */
interface Attempt<T> {
  readonly value?: T;
  readonly raised?: string;
}

/** The peer's report on a session (see `session_report` in django_peer.py). */
export interface DjangoSessionReport {
  readonly session_key: string | null;
  readonly data: SessionData | null;
  readonly data_raised: string | null;
  readonly types: Record<string, string> | null;
  /** Python's `repr()` of each value, exact where JSON numbers would not be. */
  readonly reprs: Record<string, string> | null;
  readonly expiry_age: Attempt<number | string>;
  readonly expiry_date: Attempt<string>;
  readonly expire_at_browser_close: Attempt<boolean>;
  readonly cookie?: {
    readonly value: string;
    readonly max_age: number | null;
    readonly expires: string | null;
    readonly header: string;
  } | null;
  readonly stored: StoredReport | null;
}

/** What the engine holds for a key, as the peer reads it around the SessionStore API. */
export interface StoredReport {
  /** db: the row. */
  readonly session_data?: string;
  readonly expire_date?: string;
  /** file: the content and mtime. */
  readonly content?: string;
  readonly mtime?: string;
  /** redis: the value and its remaining time to live, in milliseconds. */
  readonly value?: string;
  readonly pttl?: number;
}

/** What keepstate reports on a session it read. */
export interface KeepstateReport {
  /** The key (cookie value) after loading: `null` when the session was not found. */
  readonly sessionKey: string | null;
  readonly data: SessionData;
  readonly expiryAge: number;
  readonly expiryDate: Date;
  readonly expireAtBrowserClose: boolean;
  /** The store's own record, read apart from the session: its `expiresAt`. */
  readonly expiresAt: Date | null;
  readonly warnings: readonly string[];
}

/** What keepstate's write produced. */
export interface KeepstateWrite extends KeepstateReport {
  /** The cookie value the response sets (the session key, or the signed cookie). */
  readonly cookieValue: string;
  /** The `Set-Cookie` header of the session cookie. */
  readonly setCookie: string;
}

/** A logger that keeps its warnings. */
export function recordingLogger(): SecurityLogger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (message) => warnings.push(message) };
}

/** An instant `seconds` after {@link T0}. */
export function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

/** A Python `isoformat()` of an aware UTC datetime, `.ffffff` only when not zero. */
export function pythonIso(instant: Date): string {
  const millis = instant.getUTCMilliseconds();
  const fraction = millis === 0 ? '' : `.${String(millis).padStart(3, '0')}000`;
  return `${instant.toISOString().slice(0, 19)}${fraction}+00:00`;
}

/** keepstate's side of the conversation, on one storage. */
export class KeepstateSide {
  readonly #harness: EngineHarness;

  constructor(harness: EngineHarness) {
    this.#harness = harness;
  }

  /** A manager on a fresh store, with Django's defaults and the given keys and clock. */
  manager(
    options: {
      readonly secret?: string;
      readonly fallbackSecrets?: readonly string[];
      readonly now?: Date;
      readonly logger?: SecurityLogger;
    } = {},
  ): SessionManager {
    const now = options.now ?? T0;
    return new SessionManager({
      store: this.#harness.store(),
      secret: options.secret ?? SECRET,
      fallbackSecrets: options.fallbackSecrets ?? [],
      cookieAge: COOKIE_AGE,
      clock: () => now,
      logger: options.logger ?? recordingLogger(),
    });
  }

  /**
   * One request: opens the session of `key` (or none), does `actions`, commits as the adapters
   * do, and reports what the response sets and what the session then says of itself.
   */
  async write(
    actions: readonly Action[],
    options: Parameters<KeepstateSide['manager']>[0] & { readonly key?: string } = {},
  ): Promise<KeepstateWrite> {
    const logger = recordingLogger();
    const manager = this.manager({ ...options, logger });
    const session = manager.open(options.key === undefined ? null : `sessionid=${options.key}`);
    await applyActions(session, actions);
    const { setCookie } = await manager.commit(session, 200);
    assert.ok(setCookie, 'keepstate sent no session cookie');
    const cookieValue = setCookie.slice('sessionid='.length, setCookie.indexOf(';'));
    const report = await this.#report(manager, session, cookieValue, logger.warnings);
    return { ...report, cookieValue, setCookie };
  }

  /** One request that reads the session of `key`. */
  async read(
    key: string,
    options: Parameters<KeepstateSide['manager']>[0] = {},
  ): Promise<KeepstateReport> {
    const logger = recordingLogger();
    const manager = this.manager({ ...options, logger });
    const session = manager.open(`sessionid=${key}`);
    return this.#report(manager, session, key, logger.warnings);
  }

  async #report(
    manager: SessionManager,
    session: Session,
    key: string,
    warnings: readonly string[],
  ): Promise<KeepstateReport> {
    const data = Object.fromEntries(await session.items());
    // What the session's own load logged; the store's record, read again below, logs it twice.
    const logged = warnings.slice();
    const modification = manager.options.clock();
    const record = session.sessionKey === null ? null : await manager.options.store.load(key);
    return {
      sessionKey: session.sessionKey,
      data,
      expiryAge: await session.getExpiryAge({ modification }),
      expiryDate: await session.getExpiryDate({ modification }),
      expireAtBrowserClose: await session.getExpireAtBrowserClose(),
      expiresAt: record?.expiresAt ?? null,
      warnings: logged,
    };
  }
}

async function applyActions(session: Session, actions: readonly Action[]): Promise<void> {
  for (const action of actions) {
    if ('update' in action) await session.update(action.update);
    else if ('set_expiry' in action) await session.setExpiry(expiryValue(action.set_expiry));
    else if ('clear' in action) await session.clear();
    else if ('flush' in action) await session.flush();
    else if ('cycle_key' in action) await session.cycleKey();
    else throw new Error(`keepstate has no equivalent of ${JSON.stringify(action)}`);
  }
}

function expiryValue(spec: ExpirySpec): number | Date | null {
  if ('seconds' in spec) return spec.seconds;
  if ('datetime' in spec) return new Date(spec.datetime);
  return null;
}

/** The cookie value of Django's response; fails when Django set none. */
export function djangoCookie(report: DjangoSessionReport): string {
  assert.ok(report.cookie, 'Django sent no session cookie');
  return report.cookie.value;
}

/** A Set-Cookie header's attributes, lower-cased names, sorted, without the expires date. */
export function cookieAttributes(header: string): string[] {
  const [, ...attributes] = header.split('; ');
  return attributes
    .map((attribute) => {
      const [name = '', ...value] = attribute.split('=');
      const lower = name.toLowerCase();
      return lower === 'expires' ? 'expires' : [lower, ...value].join('=');
    })
    .sort();
}

/** Whether a Django read found nothing: no data, and not the key it was given. */
export function djangoFoundNothing(
  report: DjangoSessionReport,
  key: string,
  engine: DjangoEngine,
): boolean {
  const empty = report.data !== null && Object.keys(report.data).length === 0;
  // signed_cookies keeps the bad value as its key and starts an empty session under it.
  return empty && (engine === 'signed_cookies' || report.session_key !== key);
}

/** Every `set_expiry` mode, as the actions of one request. */
const EXPIRY_MODES: readonly {
  readonly label: string;
  readonly actions: readonly Action[];
  /** Django 3.2 cannot store a datetime (its JSON serializer refuses it). */
  readonly datetime: boolean;
}[] = [
  { label: 'set_expiry(300)', actions: [{ set_expiry: { seconds: 300 } }], datetime: false },
  {
    label: 'set_expiry(datetime)',
    actions: [{ set_expiry: { datetime: pythonIso(at(3600.25)) } }],
    datetime: true,
  },
  { label: 'set_expiry(0)', actions: [{ set_expiry: { seconds: 0 } }], datetime: false },
  {
    label: 'set_expiry(None) after set_expiry(300)',
    actions: [{ set_expiry: { seconds: 300 } }, { set_expiry: { none: true } }],
    datetime: false,
  },
];

/**
 * Registers the round trips for `harness` against Django `release` (skipped, or failed under
 * `KEEPSTATE_REQUIRE_SERVICES=1`, when that Django cannot be had).
 */
export function engineRoundTrips(
  harness: EngineHarness,
  release: DjangoRelease,
  django: DjangoAvailability,
): void {
  describeWithDjango(`${harness.title}, shared with Django ${release}`, django, (peer) => {
    const defaults: DjangoBatchDefaults = { secret: SECRET, settings: harness.settings };
    const keepstate = new KeepstateSide(harness);
    const engine = harness.engine;
    const v32 = peer.release === '3.2';
    const serverSide = engine !== 'signed_cookies';
    /** Django's writes: one process, sent when the first test needs an answer. */
    const writes = new DjangoBatch(peer, defaults);
    /** Django's reads of keepstate's writes (and of Django's own, changed by keepstate). */
    const reads = new DjangoBatch(peer, defaults);
    /** A third step where one is needed (Django writes, keepstate changes, Django reads). */
    const later = new DjangoBatch(peer, defaults);

    const djangoWrite = (actions: readonly Action[], extra: Omit<DjangoOp, 'op'> = {}) =>
      writes.add({
        op: 'session_write',
        engine,
        now: T0.toISOString(),
        modification: T0.toISOString(),
        actions,
        ...extra,
      });
    const djangoRead = (
      batch: DjangoBatch,
      key: () => Promise<string>,
      extra: Omit<DjangoOp, 'op'> = {},
    ) =>
      batch.add(async () => ({
        op: 'session_read',
        engine,
        key: await key(),
        now: T0.toISOString(),
        modification: T0.toISOString(),
        ...extra,
      }));
    const report = async (call: DjangoCall) => (await call.result()) as DjangoSessionReport;

    before(async () => harness.prepare?.(peer, defaults));
    after(async () => harness.cleanup());

    describe('data', () => {
      for (const { label, data } of ROUND_TRIP_CASES) {
        const written = djangoWrite([{ update: data }]);
        let ours: Promise<KeepstateWrite> | undefined;
        const mine = () => {
          ours ??= keepstate.write([{ update: data }]);
          return ours;
        };
        const read = djangoRead(reads, async () => (await mine()).cookieValue);

        it(`keepstate reads what Django writes: ${label}`, async () => {
          const django = await report(written);
          const key = djangoCookie(django);
          const ours = await keepstate.read(key);
          assert.deepEqual(ours.data, data);
          assert.equal(ours.sessionKey, key);
          assert.deepEqual(ours.warnings, []);
        });

        it(`Django reads what keepstate writes, with the same Python types: ${label}`, async () => {
          const django = await report(read);
          assert.deepEqual(django.data, data);
          assert.deepEqual(django.types, pythonTypes(data));
          assert.equal(django.session_key, (await mine()).cookieValue);
        });
      }

      // An emptied session keeps its key: Django saves it with {} (clear(), not flush()).
      const emptiedByDjango = writes.add(async () => ({
        op: 'session_write',
        engine,
        key: (await keepstate.write([{ update: { a: 1 } }])).cookieValue,
        actions: [{ clear: true }],
      }));
      let emptiedByUs: Promise<KeepstateWrite> | undefined;
      const emptyOfOurs = () => {
        emptiedByUs ??= (async () => {
          const first = await keepstate.write([{ update: { a: 1 } }]);
          return keepstate.write([{ clear: true }], { key: first.cookieValue });
        })();
        return emptiedByUs;
      };
      const emptyRead = djangoRead(reads, async () => (await emptyOfOurs()).cookieValue);

      it('keepstate reads an empty session Django saved, under the same key', async () => {
        const django = await report(emptiedByDjango);
        assert.deepEqual(django.data, {});
        const key = djangoCookie(django);
        const ours = await keepstate.read(key);
        assert.deepEqual(ours.data, {});
        assert.equal(ours.sessionKey, key);
      });

      it('Django reads an empty session keepstate saved, under the same key', async () => {
        const { cookieValue } = await emptyOfOurs();
        const django = await report(emptyRead);
        assert.deepEqual(django.data, {});
        assert.equal(django.session_key, cookieValue);
      });

      const floats = djangoWrite([{ update: { one: 1, half: 1.5 } }, { to_float: 'one' }]);
      const floatsBack = later.add(async () => {
        const key = djangoCookie(await report(floats));
        const { cookieValue } = await keepstate.write([{ update: { touched: true } }], { key });
        return { op: 'session_read', engine, key: cookieValue };
      });

      it("turns Python's 1.0 into 1 once keepstate saves the session (a documented difference)", async () => {
        assert.deepEqual((await report(floats)).types, { one: 'float', half: 'float' });
        const ours = await keepstate.read(djangoCookie(await report(floats)));
        // JavaScript has one number type: 1.0 reads as 1, and is written back as the integer 1.
        assert.deepEqual(ours.data, { one: 1, half: 1.5 });
        const back = await report(floatsBack);
        assert.deepEqual(back.data, { one: 1, half: 1.5, touched: true });
        assert.deepEqual(back.types, { one: 'int', half: 'float', touched: 'bool' });
      });
    });

    describe('expiry', () => {
      for (const mode of EXPIRY_MODES) {
        const data = { mode: mode.label };
        const written = djangoWrite([{ update: data }, ...mode.actions]);
        let ours: Promise<KeepstateWrite> | undefined;
        const mine = () => {
          ours ??= keepstate.write([{ update: data }, ...mode.actions]);
          return ours;
        };
        const read = djangoRead(reads, async () => (await mine()).cookieValue);

        if (v32 && mode.datetime) {
          it(`Django 3.2 cannot store ${mode.label} (its JSON serializer refuses a datetime)`, async () => {
            const error = await written.error();
            assert.equal(error.type, 'TypeError');
            assert.match(error.message, /datetime is not JSON serializable/);
          });

          it(`Django 3.2 loads keepstate's ${mode.label} but cannot use it (a documented difference)`, async () => {
            const { cookieValue } = await mine();
            const django = await report(read);
            if (engine === 'file') {
              // file.py's load compares get_expiry_age() (the ISO string, as 3.2 returns it)
              // with 0: every request that touches the session fails.
              assert.match(django.data_raised ?? '', /^TypeError: '<=' not supported/);
              return;
            }
            assert.deepEqual(django.data, { ...data, _session_expiry: pythonIso(at(3600.25)) });
            assert.equal(django.session_key, cookieValue);
            // 3.2's get_expiry_age() returns the string itself, which its middleware then fails
            // to turn into a Max-Age; get_expiry_date() raises.
            assert.equal(django.expiry_age.value, pythonIso(at(3600.25)));
            assert.match(django.expiry_date.raised ?? '', /^TypeError/);
          });
          continue;
        }

        it(`keepstate agrees with Django on ${mode.label}, written by Django`, async () => {
          const django = await report(written);
          const key = djangoCookie(django);
          const ours = await keepstate.read(key);
          assert.deepEqual(ours.data, django.data);
          assert.equal(ours.expiryAge, django.expiry_age.value);
          assert.equal(ours.expiryDate.getTime(), instant(django.expiry_date.value));
          assert.equal(ours.expireAtBrowserClose, django.expire_at_browser_close.value);
          assertStoredExpiry(engine, django, ours, 'Django');
        });

        it(`Django agrees with keepstate on ${mode.label}, written by keepstate`, async () => {
          const ours = await mine();
          const django = await report(read);
          assert.deepEqual(django.data, ours.data);
          assert.equal(django.expiry_age.value, ours.expiryAge);
          assert.equal(instant(django.expiry_date.value), ours.expiryDate.getTime());
          assert.equal(django.expire_at_browser_close.value, ours.expireAtBrowserClose);
          assertStoredExpiry(engine, django, ours, 'keepstate');
        });

        it(`sends the same session cookie as Django's middleware for ${mode.label}`, async () => {
          const django = await report(written);
          const ours = await mine();
          assert.ok(django.cookie);
          assert.deepEqual(
            cookieAttributes(ours.setCookie),
            cookieAttributes(django.cookie.header),
          );
        });
      }

      if (!v32) {
        const offset = djangoWrite([
          { update: { mode: 'offset' } },
          { set_expiry: { datetime: '2099-01-01T05:30:00.500000+05:30' } },
        ]);

        it('reads a datetime Django stored with another UTC offset as the same instant', async () => {
          const django = await report(offset);
          const ours = await keepstate.read(djangoCookie(django));
          assert.equal(ours.data._session_expiry, '2099-01-01T05:30:00.500000+05:30');
          assert.equal(ours.expiryDate.toISOString(), '2099-01-01T00:00:00.500Z');
          assert.equal(ours.expiryAge, django.expiry_age.value);
        });
      }
    });

    describe('key rotation', () => {
      const oldDjango = djangoWrite([{ update: { rotated: 'from Django' } }], {
        secret: OLD_SECRET,
      });

      it('keepstate reads a session Django signed with a secret now in fallbackSecrets', async () => {
        const key = djangoCookie(await report(oldDjango));
        const withFallback = await keepstate.read(key, { fallbackSecrets: [OLD_SECRET] });
        assert.deepEqual(withFallback.data, { rotated: 'from Django' });
        const without = await keepstate.read(key);
        assert.deepEqual(without.data, {});
        assert.deepEqual(without.warnings, ['Session data corrupted']);
      });

      if (v32) {
        const oldOurs = djangoRead(reads, async () => {
          const { cookieValue } = await keepstate.write([{ update: { rotated: 'x' } }], {
            secret: OLD_SECRET,
          });
          return cookieValue;
        });

        it('Django 3.2 has no SECRET_KEY_FALLBACKS: a session signed with an old secret reads as empty', async () => {
          assert.deepEqual((await report(oldOurs)).data, {});
        });
        return;
      }

      const oldOurs = keepstateOnce(() =>
        keepstate.write([{ update: { rotated: 'from keepstate' } }], { secret: OLD_SECRET }),
      );
      const withFallback = djangoRead(reads, async () => (await oldOurs()).cookieValue, {
        fallbacks: [OLD_SECRET],
      });
      const withoutFallback = djangoRead(reads, async () => (await oldOurs()).cookieValue);

      it('Django reads a session keepstate signed with a secret now in SECRET_KEY_FALLBACKS', async () => {
        assert.deepEqual((await report(withFallback)).data, { rotated: 'from keepstate' });
        assert.deepEqual((await report(withoutFallback)).data, {});
      });

      // keepstate re-signs with its current secret when it saves: rotation completes.
      const oldDjangoToResave = djangoWrite([{ update: { rotated: 'from Django' } }], {
        secret: OLD_SECRET,
      });
      const resaved = djangoRead(later, async () => {
        const key = djangoCookie(await report(oldDjangoToResave));
        const { cookieValue } = await keepstate.write([{ update: { seen: true } }], {
          key,
          fallbackSecrets: [OLD_SECRET],
        });
        return cookieValue;
      });

      it('signs with the current secret when it saves, so Django no longer needs the fallback', async () => {
        assert.deepEqual((await report(resaved)).data, { rotated: 'from Django', seen: true });
      });
    });

    describe('tampering', () => {
      const djangos = djangoWrite([{ update: { admin: false } }]);
      const tamperedOurs = djangoRead(reads, async () => {
        const { cookieValue } = await keepstate.write([{ update: { admin: false } }]);
        return harness.tamper(cookieValue);
      });

      it('keepstate refuses a session Django wrote once it is changed, with a warning', async () => {
        const key = await harness.tamper(djangoCookie(await report(djangos)));
        const ours = await keepstate.read(key);
        assert.deepEqual(ours.data, {});
        assert.equal(ours.warnings.length, 1);
      });

      it('Django refuses a session keepstate wrote once it is changed', async () => {
        const django = await report(tamperedOurs);
        assert.deepEqual(django.data, {});
      });
    });

    describe('expired sessions', () => {
      // Written two days ago with a minute to live: both sides must ignore it now.
      const twoDaysAgo = at(-2 * DAY);
      const oldDjango = djangoWrite(
        [{ update: { stale: true } }, { set_expiry: { seconds: 60 } }],
        { now: twoDaysAgo.toISOString() },
      );
      const oldOurs = keepstateOnce(() =>
        keepstate.write([{ update: { stale: true } }, { set_expiry: { seconds: 60 } }], {
          now: twoDaysAgo,
        }),
      );
      const oldOursBefore = djangoRead(reads, async () => (await oldOurs()).cookieValue, {
        now: new Date(twoDaysAgo.getTime() + 30_000).toISOString(),
      });
      const oldOursNow = djangoRead(reads, async () => (await oldOurs()).cookieValue);

      if (engine === 'db') {
        it('keepstate ignores a row Django wrote once its expire_date has passed', async () => {
          const key = djangoCookie(await report(oldDjango));
          const alive = await keepstate.read(key, { now: new Date(twoDaysAgo.getTime() + 30_000) });
          assert.deepEqual(alive.data, { stale: true, _session_expiry: 60 });
          const ours = await keepstate.read(key);
          assert.deepEqual(ours.data, {});
          assert.equal(ours.sessionKey, null);
        });

        it('Django ignores a row keepstate wrote once its expire_date has passed', async () => {
          const { cookieValue } = await oldOurs();
          assert.deepEqual((await report(oldOursBefore)).data, {
            stale: true,
            _session_expiry: 60,
          });
          assert.ok(djangoFoundNothing(await report(oldOursNow), cookieValue, engine));
        });

        // Its own batch, sent by this test alone: clear_expired deletes every expired row.
        const sweep = new DjangoBatch(peer, defaults);
        const djangoSweeps = sweep.add(async () => {
          await oldOurs();
          return { op: 'clear_expired', engine };
        });
        const afterSweep = sweep.add(async () => ({
          op: 'stored',
          engine,
          key: (await oldOurs()).cookieValue,
        }));
        const expiredAgain = sweep.add({
          op: 'session_write',
          engine,
          now: twoDaysAgo.toISOString(),
          actions: [{ update: { stale: true } }, { set_expiry: { seconds: 60 } }],
        });

        it("Django's clear_expired deletes keepstate's expired rows, and keepstate's clearExpired Django's", async () => {
          await djangoSweeps.result();
          assert.equal(await afterSweep.result(), null);
          const key = djangoCookie(await report(expiredAgain));
          const store = keepstate.manager().options.store;
          assert.ok((await store.clearExpired()) >= 1);
          const atThatTime = await keepstate.read(key, {
            now: new Date(twoDaysAgo.getTime() + 30_000),
          });
          assert.equal(atThatTime.sessionKey, null, 'the row is gone, not merely expired');
        });
      }

      if (engine === 'file') {
        // Django counts a number from nowhere (it never expires a file on the server); keepstate
        // counts it from the file's mtime. An instant, or the cookie age, both count alike.
        const pastInstant = djangoWrite([
          { update: { stale: true } },
          { set_expiry: { datetime: pythonIso(at(-DAY)) } },
        ]);

        if (!v32) {
          it('keepstate ignores a file Django wrote with a datetime expiry that has passed', async () => {
            const key = djangoCookie(await report(pastInstant));
            const alive = await keepstate.read(key, { now: at(-DAY - 60) });
            assert.equal(alive.data.stale, true);
            const ours = await keepstate.read(key);
            assert.equal(ours.sessionKey, null);
          });
        }

        const agedOurs = keepstateOnce(() =>
          keepstate.write([{ update: { stale: true } }], { now: at(-COOKIE_AGE - DAY) }),
        );
        const agedRead = djangoRead(reads, async () => (await agedOurs()).cookieValue);

        it('Django ignores a file keepstate wrote more than SESSION_COOKIE_AGE ago', async () => {
          const { cookieValue } = await agedOurs();
          assert.ok(djangoFoundNothing(await report(agedRead), cookieValue, engine));
        });

        it('keeps a numeric set_expiry from the mtime where Django never expires it (a documented difference)', async () => {
          const { cookieValue } = await oldOurs();
          assert.equal((await keepstate.read(cookieValue)).sessionKey, null);
          const django = await report(oldOursNow);
          assert.deepEqual(django.data, { stale: true, _session_expiry: 60 });
          assert.equal(django.session_key, cookieValue);
        });
      }

      if (engine === 'signed_cookies') {
        const fresh = djangoWrite([{ update: { stale: true } }], { now: undefined });
        const agedOurs = keepstateOnce(() =>
          keepstate.write([{ update: { stale: true } }], { now: at(-COOKIE_AGE - 100) }),
        );
        const agedRead = djangoRead(reads, async () => (await agedOurs()).cookieValue);

        it("keepstate refuses Django's cookie once it is older than SESSION_COOKIE_AGE", async () => {
          const value = djangoCookie(await report(fresh));
          assert.equal((await keepstate.read(value)).data.stale, true);
          const later = await keepstate.read(value, {
            now: new Date(Date.now() + (COOKIE_AGE + 100) * 1000),
          });
          assert.equal(later.sessionKey, null);
        });

        it("Django refuses keepstate's cookie once it is older than SESSION_COOKIE_AGE", async () => {
          const { cookieValue } = await agedOurs();
          assert.ok(djangoFoundNothing(await report(agedRead), cookieValue, engine));
        });

        it('enforces a numeric set_expiry on a cookie, which Django ignores (a documented difference)', async () => {
          const { cookieValue } = await oldOurs();
          assert.equal((await keepstate.read(cookieValue)).sessionKey, null);
          assert.deepEqual((await report(oldOursNow)).data, { stale: true, _session_expiry: 60 });
        });
      }

      if (engine === 'redis') {
        it('sets the TTL Django sets: get_expiry_age() seconds', async () => {
          const django = await report(oldDjango);
          const ttl = django.stored?.pttl;
          assert.ok(ttl !== undefined && ttl > 0 && ttl <= 60_000, `Django's TTL: ${ttl}`);
          const ours = await oldOurs();
          const again = await report(oldOursBefore);
          const ourTtl = again.stored?.pttl;
          // keepstate's clock stood two days back: Redis counts the TTL from the real now.
          assert.ok(
            ourTtl !== undefined && ourTtl > 0 && ourTtl <= 60_000,
            `keepstate's TTL: ${ourTtl}`,
          );
          assert.equal(again.session_key, ours.cookieValue);
        });

        const pastInstant = djangoWrite([
          { update: { stale: true } },
          { set_expiry: { datetime: pythonIso(at(60)) } },
        ]);

        if (!v32) {
          it('keepstate also checks a datetime expiry against its own clock', async () => {
            const key = djangoCookie(await report(pastInstant));
            assert.equal((await keepstate.read(key)).data.stale, true);
            assert.equal((await keepstate.read(key, { now: at(120) })).sessionKey, null);
          });
        }
      }
    });

    if (serverSide) {
      describe('logout', () => {
        const ours = keepstateOnce(() => keepstate.write([{ update: { user: 'alice' } }]));
        const djangoFlushes = reads.add(async () => ({
          op: 'session_write',
          engine,
          key: (await ours()).cookieValue,
          actions: [{ flush: true }],
        }));
        const loggedIn = djangoWrite([{ update: { user: 'bob' } }]);
        const ourLogout = djangoRead(reads, async () => {
          const key = djangoCookie(await report(loggedIn));
          const manager = keepstate.manager();
          const session = manager.open(`sessionid=${key}`);
          await session.flush();
          const { setCookie } = await manager.commit(session, 200);
          assert.match(setCookie ?? '', /^sessionid=.*Max-Age=0/i, 'keepstate deletes the cookie');
          return key;
        });

        it("Django's flush() ends the session for keepstate", async () => {
          const django = await report(djangoFlushes);
          assert.equal(django.session_key, null);
          const { cookieValue } = await ours();
          assert.equal((await keepstate.read(cookieValue)).sessionKey, null);
        });

        it("keepstate's flush() ends the session for Django", async () => {
          const key = djangoCookie(await report(loggedIn));
          assert.ok(djangoFoundNothing(await report(ourLogout), key, engine));
        });

        const toCycle = keepstateOnce(() => keepstate.write([{ update: { user: 'carol' } }]));
        const cycled = reads.add(async () => ({
          op: 'session_write',
          engine,
          key: (await toCycle()).cookieValue,
          actions: [{ cycle_key: true }],
        }));

        it("Django's cycle_key() moves the data to a new key keepstate reads, and the old key is gone", async () => {
          const key = djangoCookie(await report(cycled));
          const { cookieValue: oldKey } = await toCycle();
          assert.notEqual(key, oldKey);
          assert.deepEqual((await keepstate.read(key)).data, { user: 'carol' });
          assert.equal((await keepstate.read(oldKey)).sessionKey, null);
        });
      });
    }
  });
}

/** A keepstate step run once, when a test or a batch first needs it. */
function keepstateOnce<T>(step: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= step();
    return result;
  };
}

/** Milliseconds since the epoch of a Python isoformat() (microseconds cut to milliseconds). */
export function instant(text: string | undefined): number {
  assert.ok(text !== undefined, 'Django computed no date');
  return new Date(text).getTime();
}

function assertStoredExpiry(
  engine: DjangoEngine,
  django: DjangoSessionReport,
  ours: KeepstateReport,
  writer: 'Django' | 'keepstate',
): void {
  if (engine === 'signed_cookies') return; // the cookie is all there is
  const stored = django.stored;
  assert.ok(stored, 'Django found nothing stored');
  const expiry = django.data?._session_expiry;
  if (engine === 'db') {
    // The row's expire_date is get_expiry_date() at the save, on both sides.
    assert.equal(instant(stored.expire_date), ours.expiresAt?.getTime());
    assert.equal(instant(stored.expire_date), ours.expiryDate.getTime());
  } else if (engine === 'file') {
    if (writer === 'keepstate') {
      // keepstate writes the mtime from its clock, so Django's mtime + age is its expiresAt.
      assert.equal(instant(stored.mtime), T0.getTime());
    }
    if (typeof expiry === 'string') {
      assert.equal(ours.expiresAt?.getTime(), instant(expiry));
    } else if (!expiry) {
      assert.equal(ours.expiresAt?.getTime(), instant(stored.mtime) + COOKIE_AGE * 1000);
    }
  } else if (engine === 'redis') {
    // SETEX get_expiry_age(): the TTL runs from the real now, so only bound it. Django floors the
    // age to whole seconds, and keepstate's TTL counts the milliseconds too: allow that second.
    const age = django.expiry_age.value as number;
    assert.ok(
      stored.pttl !== undefined && stored.pttl > 0 && stored.pttl <= (age + 1) * 1000,
      `TTL ${stored.pttl} ms for an age of ${age} s`,
    );
  }
}
