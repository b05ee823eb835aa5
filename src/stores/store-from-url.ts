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
  'sqlite:': (url) => sqlite(url),
  'postgres:': (url) => postgres(url),
  'postgresql:': (url) => postgres(url),
  'mysql:': (url) => mysql(url),
  'mariadb:': (url) => mysql(url),
  'file:': async (url) => {
    const { FileStore } = await import('./file-store.js');
    return owned(new FileStore({ path: localPath(url) }));
  },
  'redis:': (url) => redis(url),
  'rediss:': (url) => redis(url),
};

/** Options of the SQL stores that a URL's query may set. */
function sqlOptions(url: URL): { table?: string } {
  const table = takeParam(url, 'table');
  return table === undefined ? {} : { table };
}

/** The path of a `sqlite:` or `file:` URL: `sqlite:./x` is relative, `sqlite:/x` absolute. */
function localPath(url: URL): string {
  return decodeURIComponent(
    url.href
      .slice(url.protocol.length)
      .replace(/^\/\/(?=\/)/, '')
      .split('?')[0] ?? '',
  );
}

async function sqlite(url: URL): Promise<OwnedStore> {
  const options = sqlOptions(url);
  const { default: Database } = await importDriver<{ default: typeof import('better-sqlite3') }>(
    'better-sqlite3',
    'sqlite:',
  );
  const { SqliteStore } = await import('./sql/sqlite-store.js');
  const database = new Database(localPath(url));
  return owned(new SqliteStore(database, options), async () => {
    database.close();
  });
}

async function postgres(url: URL): Promise<OwnedStore> {
  const options = sqlOptions(url);
  const { default: pg } = await importDriver<{ default: typeof import('pg') }>('pg', 'postgres:');
  const { PostgresStore } = await import('./sql/postgres-store.js');
  const pool = new pg.Pool({ connectionString: url.href, connectionTimeoutMillis: 10_000, max: 4 });
  // An idle client's error (a server restart) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return owned(new PostgresStore(pool, options), () => pool.end());
}

async function mysql(url: URL): Promise<OwnedStore> {
  const options = sqlOptions(url);
  const { createPool } = await importDriver<typeof import('mysql2/promise')>(
    'mysql2/promise',
    'mysql:',
  );
  const { MysqlStore } = await import('./sql/mysql-store.js');
  const pool = createPool({
    uri: url.href.replace(/^mariadb:/, 'mysql:'),
    connectTimeout: 10_000,
    connectionLimit: 4,
  });
  return owned(new MysqlStore(pool, options), () => pool.end());
}

/** Bounds an outage: a request fails within a few seconds instead of queueing forever. */
const REDIS_TIMEOUTS = { connectTimeout: 2_000, commandTimeout: 1_000, maxRetriesPerRequest: 1 };
// Concurrent requests' commands leave in one socket write per tick (docs/PERFORMANCE.md).
const REDIS_PIPELINING = { enableAutoPipelining: true };

async function redis(url: URL): Promise<OwnedStore> {
  const { Redis } = await importDriver<typeof import('ioredis')>('ioredis', 'redis:');
  const { RedisStore } = await import('./redis-store.js');
  const prefix = takeParam(url, 'prefix');
  const client = new Redis(url.href, { ...REDIS_TIMEOUTS, ...REDIS_PIPELINING, lazyConnect: true });
  await client.connect();
  return owned(new RedisStore(client, prefix === undefined ? {} : { prefix }), async () => {
    await client.quit();
  });
}

async function redisCluster({ hosts, username, password, params }: HostList): Promise<OwnedStore> {
  const { Cluster } = await importDriver<typeof import('ioredis')>('ioredis', 'redis+cluster:');
  const { RedisStore } = await import('./redis-store.js');
  const nodes = hosts.map((host) => {
    const [name = '127.0.0.1', port = '6379'] = host.split(':');
    return { host: name, port: Number(port) };
  });
  const client = new Cluster(nodes, {
    enableOfflineQueue: false,
    ...REDIS_PIPELINING,
    redisOptions: {
      ...REDIS_TIMEOUTS,
      ...(username && { username }),
      ...(password && { password }),
    },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void client.disconnect();
      reject(
        new Error(`keepstate: the Redis Cluster at ${hosts.join(',')} was not ready within 10 s`),
      );
    }, 10_000);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const prefix = params.get('prefix');
  return owned(new RedisStore(client, prefix === null ? {} : { prefix }), async () => {
    await client.quit();
  });
}

async function memcached({ hosts, username, password, params }: HostList): Promise<OwnedStore> {
  const memjs = await importDriver<typeof import('memjs')>('memjs', 'memcached:');
  const { MemcachedStore } = await import('./memcached-store.js');
  const credentials = username ? { username, password } : {};
  const client = memjs.Client.create(hosts.join(','), {
    timeout: 0.5,
    retries: 1,
    logger: { log() {} },
    ...credentials,
  });
  const prefix = params.get('prefix');
  return owned(new MemcachedStore(client, prefix === null ? {} : { prefix }), async () => {
    client.close();
  });
}

interface HostList {
  readonly hosts: string[];
  readonly username: string;
  readonly password: string;
  readonly params: URLSearchParams;
}

/** Parses `scheme://[user:pass@]h:p,h:p[?query]`. */
function hostList(text: string): HostList {
  const rest = text.slice(text.indexOf('://') + 3);
  const [authority = '', query = ''] = rest.split('?', 2);
  const at = authority.lastIndexOf('@');
  const [username = '', password = ''] =
    at === -1 ? [] : authority.slice(0, at).split(':', 2).map(decodeURIComponent);
  const hosts = authority
    .slice(at + 1)
    .replace(/\/$/, '')
    .split(',')
    .filter(Boolean);
  if (hosts.length === 0)
    throw new ImproperlyConfigured(`keepstate: store URL ${JSON.stringify(text)} names no host`);
  return { hosts, username, password, params: new URLSearchParams(query) };
}

/** Removes `name` from the URL's query (the driver would not know it) and returns its value. */
function takeParam(url: URL, name: string): string | undefined {
  const value = url.searchParams.get(name);
  url.searchParams.delete(name);
  return value ?? undefined;
}

/**
 * Makes a store from one string, as Django's `SESSION_ENGINE` names one: for the CLI, the demo,
 * and configuration from the environment. The store owns the client it creates; `close()` it
 * when done. Drivers are loaded only for the scheme asked for.
 *
 * | URL | store |
 * | --- | --- |
 * | `memory:` | {@link MemoryStore} |
 * | `cookie:` | {@link SignedCookieStore} |
 * | `sqlite:./sessions.sqlite3[?table=t]` (`sqlite:/abs/path`, `sqlite::memory:`) | {@link SqliteStore} (better-sqlite3) |
 * | `postgres://user:pass@host:port/db[?table=t]` (`postgresql://`) | {@link PostgresStore} (pg) |
 * | `mysql://user:pass@host:port/db[?table=t]` (`mariadb://`) | {@link MysqlStore} (mysql2) |
 * | `file:./folder` (`file:/abs/folder`) | {@link FileStore} |
 * | `redis://[user:pass@]host:port[/db][?prefix=p]`, `rediss://…` | {@link RedisStore} (ioredis) |
 * | `redis+cluster://[user:pass@]h:p,h:p[?prefix=p]` | {@link RedisStore} on a Redis Cluster |
 * | `memcached://[user:pass@]h:p[,h:p][?prefix=p]` | {@link MemcachedStore} (memjs) |
 * | `cached:CACHE_URL\|DURABLE_URL` | {@link CachedStore} over the two |
 *
 * @throws ImproperlyConfigured for an unknown scheme, or naming the npm package to install when
 *   the scheme's driver is missing
 */
export async function storeFromUrl(text: string): Promise<OwnedStore> {
  if (text.startsWith('cached:')) return cached(text.slice('cached:'.length));
  // Host lists (h:p,h:p) are not URLs to the WHATWG parser: these schemes parse by hand.
  if (text.startsWith('redis+cluster://')) return redisCluster(hostList(text));
  if (text.startsWith('memcached://')) return memcached(hostList(text));
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
