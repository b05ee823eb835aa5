import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import type { SessionStore } from '../../src/core/session-store.js';
import type { SqlStoreOptions } from '../../src/stores/sql/sql-store-options.js';

/** A `django_session` row as Django's vectors record it (`expire_date` as SQLite's text). */
export interface DjangoRow {
  readonly session_key: string;
  readonly session_data: string;
  readonly expire_date: string;
}

/** A row of a user index table, as the tests compare it. */
export interface UserRow {
  readonly session_key: string;
  readonly user_id: string;
  readonly user_agent: string | null;
}

/** The SQL stores' common shape, beyond the contract. */
export type SqlStore = SessionStore & {
  readonly table: string;
  readonly userTable: string;
  migrate(): Promise<void>;
};

/** What the shared SQL store tests need of one backend. */
export interface SqlHarness {
  /** The store's class name, for test titles. */
  readonly name: string;
  /**
   * Whether `expire_date` is TEXT compared as text (SQLite). Elsewhere it is a typed column, and
   * every spelling of an instant is that instant.
   */
  readonly textExpireDate: boolean;
  /** A store on a table of its own, already migrated, attached to nothing. */
  fresh(options?: SqlStoreOptions): Promise<SqlStore>;
  /** Inserts `rows` with one multi-row INSERT, as a foreign writer would. */
  insert(store: SqlStore, rows: readonly DjangoRow[]): Promise<void>;
  /** Every row of the store's table, sorted by key, `expire_date` written as Django's SQLite text. */
  rows(store: SqlStore): Promise<DjangoRow[]>;
  /** Every row of the store's user index table, sorted by key: key, user id and user agent. */
  userRows(store: SqlStore): Promise<UserRow[]>;
  /** Runs one statement on the store's database, as another client would. */
  execute(sql: string): Promise<void>;
  /** A store on the same tables as `store`, attached to nothing and knowing nothing yet. */
  reopen(store: SqlStore): SqlStore;
  /** Drops every table {@link fresh} made and closes the client. */
  close(): Promise<void>;
}

/** A table name no other test run uses. */
export function uniqueTable(): string {
  return `django_session_${randomBytes(6).toString('hex')}`;
}

/** A TCP port on 127.0.0.1 nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * The instant a vector's `expire_date` text names, read independently of the store's own
 * parser: no zone means UTC, as Django stores it.
 */
export function instantOf(expireDate: string): Date {
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(expireDate) ? expireDate : `${expireDate}Z`;
  return new Date(zoned.replace(' ', 'T'));
}

/** Django's `str()` of a naive UTC datetime, from `YYYY-MM-DD HH:MM:SS.ffffff` text. */
export function djangoText(fullText: string): string {
  return fullText.endsWith('.000000') ? fullText.slice(0, -7) : fullText;
}

/** Orders rows by session key, byte by byte (as `ORDER BY` on an ASCII column). */
export function byKey(a: DjangoRow, b: DjangoRow): number {
  return a.session_key < b.session_key ? -1 : a.session_key > b.session_key ? 1 : 0;
}

/**
 * A TCP server on 127.0.0.1 that accepts connections and never says a word: a database that
 * hangs. `close()` drops the connections and stops it.
 */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
