import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import Database from 'better-sqlite3';
import { SessionInterrupted, StoreError } from '../../src/core/errors.js';
import type { SessionEvent } from '../../src/core/security-logger.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionOptions } from '../../src/core/session-options.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { SqliteStore } from '../../src/stores/sql/sqlite-store.js';
import { testClock } from '../support/test-clock.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

// The application's own OpenTelemetry set-up, registered globally as an app would.
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);

function setup(options: Partial<SessionOptions> = {}, store: SessionStore = new MemoryStore()) {
  const clock = testClock();
  const events: SessionEvent[] = [];
  const lines: string[] = [];
  const manager = new SessionManager({
    store,
    secret: SECRET,
    clock,
    logger: {
      warn: (message, details) => lines.push(`${message} ${JSON.stringify(details)}`),
      event: (event) => events.push(event),
    },
    ...options,
  });
  return { store, manager, events, lines };
}

describe('events: what happened to a session, through the logger', () => {
  test('a session lifetime gives loaded, created, saved, rotated and flushed, in order', async () => {
    const { manager, events } = setup();
    const fresh = manager.open(null);
    await fresh.set('cart', ['book']);
    await manager.commit(fresh, 200);
    const cookie = `sessionid=${fresh.sessionKey}`;
    const next = manager.open(cookie);
    await next.set('cart', ['book', 'pen']);
    await manager.commit(next, 200);
    await next.cycleKey();
    await next.flush();
    assert.deepEqual(events, [
      { type: 'created' },
      { type: 'loaded', found: true },
      { type: 'saved', merged: true },
      { type: 'created' },
      { type: 'rotated' },
      { type: 'flushed' },
    ]);
  });

  test('a refused cookie, a vanished record and a store failure have their events', async () => {
    const { manager, store, events } = setup();
    manager.open('sessionid=../../etc/passwd');
    const session = manager.open(null);
    await session.set('a', 1);
    await manager.commit(session, 200);
    const cookie = `sessionid=${session.sessionKey}`;
    const slow = manager.open(cookie);
    await slow.set('b', 2);
    await store.delete(session.sessionKey ?? '');
    await assert.rejects(async () => manager.commit(slow, 200), SessionInterrupted);
    store.load = () => Promise.reject(new StoreError('keepstate: MemoryStore is down'));
    await assert.rejects(manager.open(cookie).get('a'), StoreError);
    assert.deepEqual(
      events.filter((event) => event.type !== 'created' && event.type !== 'loaded'),
      [
        { type: 'rejected', reason: 'malformed cookie' },
        { type: 'interrupted' },
        { type: 'storeError', operation: 'load', error: 'keepstate: MemoryStore is down' },
      ],
    );
  });

  test('no event and no log line carries a session key or cookie value', async () => {
    const { manager, store, events, lines } = setup();
    const session = manager.open(null);
    await session.set('a', 1);
    await manager.commit(session, 200);
    const key = session.sessionKey ?? '';
    store.save = () => Promise.reject(new StoreError(`driver says: no row ${key}`));
    store.update = store.save as never;
    const other = manager.open(`sessionid=${key}`);
    await other.set('a', 2);
    await assert.rejects(async () => manager.commit(other, 200), StoreError);
    manager.open(`sessionid=${key}!`);
    const text = JSON.stringify(events) + lines.join('\n');
    assert.ok(events.some((event) => event.type === 'storeError'));
    assert.ok(!text.includes(key), text);
  });
});

describe('OpenTelemetry: a span per store call, when @opentelemetry/api is installed', () => {
  /** An SQLite store in memory: a real store, and not an `inProcess` one, so it gets spans. */
  const sqlite = async () => {
    const store = new SqliteStore(new Database(':memory:'));
    await store.migrate();
    return store;
  };

  test("the application's global tracer gets keepstate.<method> spans, failures marked", async () => {
    exporter.reset();
    const { manager, store } = setup({}, await sqlite());
    const session = manager.open(null);
    await session.set('a', 1);
    await manager.commit(session, 200);
    const cookie = `sessionid=${session.sessionKey}`;
    await manager.open(cookie).get('a');
    store.load = () => Promise.reject(new StoreError('keepstate: SqliteStore is down'));
    await assert.rejects(manager.open(cookie).get('a'), StoreError);
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(
      spans.map((span) => span.name),
      ['keepstate.create', 'keepstate.load', 'keepstate.load'],
    );
    assert.equal(spans[0]?.attributes['keepstate.store'], 'SqliteStore');
    assert.equal(spans[1]?.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(spans[2]?.status, {
      code: SpanStatusCode.ERROR,
      message: 'keepstate: SqliteStore is down',
    });
  });

  test('tracer: false sends no span; your own tracer gets them; an in-process store none', async () => {
    exporter.reset();
    const quiet = setup({ tracer: false }, await sqlite()).manager;
    await quiet.open(null).set('a', 1);
    const own = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(own)],
    }).getTracer('mine');
    const traced = setup({ tracer }, await sqlite()).manager;
    const inMemory = setup({ tracer }).manager;
    for (const manager of [quiet, traced, inMemory]) {
      const session = manager.open(null);
      await session.set('a', 1);
      await manager.commit(session, 200);
    }
    assert.deepEqual(exporter.getFinishedSpans(), []);
    assert.deepEqual(
      own.getFinishedSpans().map((span) => span.name),
      ['keepstate.create'],
    );
  });
});
