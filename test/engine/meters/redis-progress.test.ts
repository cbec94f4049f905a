// What the store's time bound measures (issue 13): Redis's progress, never the process's own backlog.
// A healthy Redis whose replies wait unread while the process is busy, or whose replies come steadily
// but later than the bound after a call was queued, must not fail a single call; a silent Redis
// still fails within the bound (redis-outage.test.ts holds that part, unchanged).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../../src/engine/meters/redis-connection.js';
import { RedisMeterStore } from '../../../src/engine/meters/redis.js';
import { ProgressWatch, type Stall } from '../../../src/engine/meters/redis-progress.js';
import type { MeterCall } from '../../../src/engine/meters/store.js';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { testKeyPrefix, testRedisUrl } from '../../support/env.js';
import { untilReady } from './redis-helpers.js';

/** The default bound: the outage tests hold a silent Redis to it. */
const BOUND_MS = 80;

const call = (identifier = `busy-${randomUUID()}`): MeterCall => ({
  visitor: { userType: 'anonymous', identifier },
  now: Date.now(),
  counters: [{ counterId: 'c', periods: ['month'] }],
  consume: [{ counterId: 'c', units: 1, meter: { limit: 3, period: 'month', uniqueResources: false, allowPartial: false } }],
  dryRun: false,
});

/** Keeps the event loop busy, as a burst of requests being read does. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('a busy process over a healthy Redis', () => {
  let store: RedisMeterStore;
  const events: string[] = [];

  beforeAll(async () => {
    store = new RedisMeterStore({
      redis: { url: testRedisUrl(), keyPrefix: testKeyPrefix('busy'), commandTimeoutMs: BOUND_MS },
      logger: { event: (_level, code) => events.push(code) },
    });
    await untilReady(store);
  });
  afterAll(() => store.close());

  it('calls whose replies waited unread behind 4 x the bound of the process’s own work all succeed', async () => {
    const pending = Array.from({ length: 400 }, (_, i) => store.run(call(`busy-${i % 40}-${randomUUID()}`)));
    // Redis answers at once; the replies sit in the socket while the process is busy.
    await new Promise((r) => setImmediate(r));
    busyFor(4 * BOUND_MS);
    const results = await Promise.all(pending);
    expect(results.every((r) => r.consumed[0].granted)).toBe(true);
    expect(store.health.failures()).toEqual({ 'store-timeout': 0, 'store-unreachable': 0, 'store-error': 0 });
    // The connection was kept: no reconnect, no lost connection.
    expect(events.filter((code) => code !== 'store-ready')).toEqual([]);
  });

  it('a ping answered while the process was busy counts as answered (readiness is not the backlog)', async () => {
    // From the check phase, as after a request read by the poll phase: the timers run before the
    // socket is read again.
    await new Promise((r) => setImmediate(r));
    const ping = store.health.ping();
    // Let the PING be written (microtasks only), then be busy while its reply waits in the socket.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    busyFor(3 * BOUND_MS);
    expect(await ping).toBe(true);
  });
});

describe('a Redis that answers later than the bound', () => {
  let server: RedisServerHandle;
  let store: RedisMeterStore;
  let client: ReturnType<typeof createRedisClient>;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--enable-debug-command', 'yes'] });
    client = createRedisClient({ url: server.url, commandTimeoutMs: BOUND_MS });
    store = new RedisMeterStore({ redis: { url: server.url, keyPrefix: 'steady:', commandTimeoutMs: BOUND_MS }, client });
    await untilReady(store);
  });
  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  it('a single reply later than the bound is still a stall: store-timeout, and the store recovers', async () => {
    const sleep = client.call('DEBUG', 'SLEEP', '0.3');
    const failed = await store.run(call()).then(
      () => undefined,
      (err: { code?: string }) => err.code,
    );
    expect(failed).toBe('store-timeout');
    await sleep;
    expect((await store.run(call())).consumed[0].granted).toBe(true);
  });
});

describe('calls made while the connection is being made', () => {
  it('100 of them share one pair of listeners, and each fails as the connection does', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(testRedisUrl()).port || 6379) });
    await proxy.setMode({ kind: 'hang' });
    const client = createRedisClient({ url: proxy.url });
    const store = new RedisMeterStore({ redis: { url: proxy.url, keyPrefix: testKeyPrefix('connecting') }, client });
    try {
      // Connected through the proxy, the handshake unanswered: the connection attempt is under way.
      while (client.status !== 'connect') await new Promise((r) => setTimeout(r, 5));
      const attempt = () =>
        store.run(call()).then(
          () => 'ok',
          (e: { code?: string }) => e.code,
        );
      const pending = [attempt()];
      await new Promise((r) => setImmediate(r));
      const withOne = client.listenerCount('ready') + client.listenerCount('close');
      for (let i = 0; i < 99; i++) pending.push(attempt());
      await new Promise((r) => setImmediate(r));
      expect(client.listenerCount('ready') + client.listenerCount('close')).toBe(withOne);
      const codes = new Set(await Promise.all(pending));
      expect([...codes].every((code) => code === 'store-timeout' || code === 'store-unreachable')).toBe(true);
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});

describe('ProgressWatch: the rule itself', () => {
  const waiter = () => {
    const failures: Error[] = [];
    const w = { failures, settled: false, fail: (error: Error) => void ((w.settled = true), failures.push(error)) };
    return w;
  };

  it('a call outstanding far longer than the bound does not fail while bytes keep arriving', async () => {
    const stalls: Stall[] = [];
    const watch = new ProgressWatch(100, (stall) => (stalls.push(stall), new Error('stalled')));
    const w = waiter();
    watch.add(w);
    // Replies to earlier calls arrive every 10 ms for 400 ms: four times the bound.
    const ticker = setInterval(() => watch.progress(), 10);
    await new Promise((r) => setTimeout(r, 400));
    clearInterval(ticker);
    expect(w.failures).toEqual([]);
    expect(stalls).toEqual([]);
    // Then silence: the call fails once the bound of silence has passed.
    await new Promise((r) => setTimeout(r, 300));
    expect(w.failures.map((e) => e.message)).toEqual(['stalled']);
    expect(stalls).toHaveLength(1);
    expect(stalls[0].inARow).toBe(1);
    expect(stalls[0].silentMs).toBeGreaterThanOrEqual(100);
    watch.stop();
  });

  it('the process’s own busy time is not silence: only time spent listening counts', async () => {
    const watch = new ProgressWatch(50, () => new Error('stalled'));
    const w = waiter();
    watch.add(w);
    busyFor(200);
    // The timer fires late, finds no listening time spent, and waits on.
    await new Promise((r) => setImmediate(r));
    expect(w.failures).toEqual([]);
    w.settled = true;
    watch.delete();
    watch.stop();
  });

  it('stalls in a row are counted until bytes arrive', async () => {
    const counts: number[] = [];
    const watch = new ProgressWatch(20, (stall) => (counts.push(stall.inARow), new Error('stalled')));
    for (let i = 0; i < 3; i++) {
      const w = waiter();
      watch.add(w);
      await new Promise((r) => setTimeout(r, 120));
    }
    watch.progress();
    const w = waiter();
    watch.add(w);
    await new Promise((r) => setTimeout(r, 120));
    expect(counts).toEqual([1, 2, 3, 1]);
    watch.stop();
  });
});
