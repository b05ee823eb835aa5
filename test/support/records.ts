import { generateSessionKey } from '../../src/core/session-key.js';
import type { SessionData, SessionRecord, SessionStore } from '../../src/core/session-store.js';
import { USER_SESSION_KEYS } from '../../src/core/session-user.js';
import type { TestClock } from './test-clock.js';

/** A record under a new key holding `data`, expiring `ageSeconds` after the clock's now. */
export function record(
  clock: TestClock,
  ageSeconds: number,
  data: SessionRecord['data'] = { a: 1 },
): SessionRecord {
  return {
    sessionKey: generateSessionKey(),
    data,
    expiresAt: new Date(clock().getTime() + ageSeconds * 1000),
  };
}

/**
 * Creates a record holding `{ a: 1 }`, then `update`s it with a merge that adds `b: 'Zoë'` and
 * moves its expiry to `ageSeconds` from the clock's now; gives the key and the data the store
 * must now hold.
 */
export async function updatedRecord(
  store: SessionStore,
  clock: TestClock,
  ageSeconds: number,
): Promise<{ sessionKey: string; data: SessionData }> {
  if (store.update === undefined) throw new Error('this store cannot update');
  const rec = record(clock, 60, { a: 1 });
  await store.create(rec);
  await store.update(rec.sessionKey, (latest) => ({
    ...rec,
    data: { ...latest, b: 'Zoë' },
    expiresAt: new Date(clock().getTime() + ageSeconds * 1000),
  }));
  return { sessionKey: rec.sessionKey, data: { a: 1, b: 'Zoë' } };
}

/** A record of `userId`'s, as the core writes it: the user in the data and on the record. */
export function owned(
  clock: TestClock,
  ageSeconds: number,
  userId: string,
  userAgent?: string,
): SessionRecord {
  return {
    ...record(clock, ageSeconds, { [USER_SESSION_KEYS.userId]: userId }),
    userId,
    ...(userAgent !== undefined && { userAgent }),
  };
}

/** `client`, with the name of every command sent through it pushed onto `sent`. */
export function counting<C extends object>(client: C): { client: C; sent: string[] } {
  const sent: string[] = [];
  const proxy = new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        sent.push(property);
        return value.apply(target, args);
      };
    },
  });
  return { client: proxy, sent };
}
