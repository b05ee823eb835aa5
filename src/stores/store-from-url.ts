import type { SessionStore } from '../core/session-store.js';
import { ImproperlyConfigured } from '../improperly-configured.js';

/** A store made by {@link storeFromUrl}, which owns its client and closes it. */
export type OwnedStore = SessionStore & {
  /** Closes the client the store was made with (a no-op for stores without one). */
  close(): Promise<void>;
};

type Factory = (url: URL, text: string) => Promise<OwnedStore>;

const FACTORIES: Record<string, Factory> = {
  'memory:': async () => {
    const { MemoryStore } = await import('./memory-store.js');
    return owned(new MemoryStore());
  },
  'cookie:': async () => {
    const { SignedCookieStore } = await import('./signed-cookie-store.js');
    return owned(new SignedCookieStore());
  },
};

/**
 * Makes a store from one string, as Django's `SESSION_ENGINE` names one: for the CLI, the demo,
 * and configuration from the environment. The store owns the client it creates; `close()` it
 * when done. Drivers are loaded only for the scheme asked for.
 *
 * | URL | store |
 * | --- | --- |
 * | `memory:` | {@link MemoryStore} |
 * | `cookie:` | {@link SignedCookieStore} |
 * | `cached:CACHE_URL\|DURABLE_URL` | {@link CachedStore} over the two |
 *
 * @throws ImproperlyConfigured for an unknown scheme, or naming the npm package to install when
 *   the scheme's driver is missing
 */
export async function storeFromUrl(text: string): Promise<OwnedStore> {
  if (text.startsWith('cached:')) return cached(text.slice('cached:'.length));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ImproperlyConfigured(
      `keepstate: store URL ${JSON.stringify(text)} is not a URL; e.g. sqlite:./sessions.sqlite3`,
    );
  }
  const factory = FACTORIES[url.protocol];
  if (factory === undefined) {
    throw new ImproperlyConfigured(
      `keepstate: no store for the scheme ${JSON.stringify(url.protocol)}; use one of ${[...Object.keys(FACTORIES), 'cached:'].join(' ')}`,
    );
  }
  return factory(url, text);
}

async function cached(pair: string): Promise<OwnedStore> {
  const bar = pair.indexOf('|');
  if (bar === -1) {
    throw new ImproperlyConfigured(
      'keepstate: a cached store URL is cached:CACHE_URL|DURABLE_URL, e.g. cached:redis://127.0.0.1:6379|sqlite:./sessions.sqlite3',
    );
  }
  const { CachedStore } = await import('./cached-store.js');
  const cache = await storeFromUrl(pair.slice(0, bar));
  const durable = await storeFromUrl(pair.slice(bar + 1));
  return Object.assign(new CachedStore(cache, durable), {
    async close() {
      await Promise.all([cache.close(), durable.close()]);
    },
  });
}

function owned<S extends SessionStore>(
  store: S,
  close: () => Promise<void> = async () => {},
): S & OwnedStore {
  return Object.assign(store, { close });
}

/**
 * Imports an optional driver, or fails naming the package to install.
 * @throws ImproperlyConfigured when the package is not installed
 */
export async function importDriver<T>(name: string, scheme: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if (
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String(error).includes(name)
    ) {
      throw new ImproperlyConfigured(
        `keepstate: ${scheme} stores need the \`${name}\` package: npm install ${name}`,
      );
    }
    throw error;
  }
}
