import { generateSessionKey } from '../../src/core/session-key.js';
import type { SessionRecord } from '../../src/core/session-store.js';
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
