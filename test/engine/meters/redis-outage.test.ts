// Bounded failure and recovery of the Redis store: a stopped server, a hung one (accepts, never
// answers), a slow one, and a script cache flushed under the store. Each failure must reject with a
// StoreUnavailableError well inside the liveness bound, be counted, and the same store must recover.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMeterStore } from '../../../src/engine/meters/redis.js';
import { StoreUnavailableError, type MeterCall } from '../../../src/engine/meters/store.js';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { testKeyPrefix, testRedisUrl } from '../../support/env.js';
import { eventually, untilReady } from './redis-helpers.js';

/** At least 20x the 80 ms command timeout and never under 2 s (house rule). */
const LIVENESS_MS = 2_000;

const call = (): MeterCall => ({
  visitor: { userType: 'anonymous', identifier: `outage-${randomUUID()}` },
  now: Date.now(),
  counters: [{ counterId: 'c', periods: ['month'] }],
  consume: [{ counterId: 'c', units: 1, meter: { limit: 3, period: 'month', uniqueResources: false, allowPartial: false } }],
  dryRun: false,
});

/** Runs one call that must fail, returning its error code and how long it took. */
async function failingRun(store: RedisMeterStore): Promise<{ code: string; elapsed: number }> {
  const started = Date.now();
  const err = await store.run(call()).then(
    () => undefined,
    (e: unknown) => e,
  );
  const elapsed = Date.now() - started;
  expect(err).toBeInstanceOf(StoreUnavailableError);
  return { code: (err as StoreUnavailableError).code, elapsed };
}

const recovered = (store: RedisMeterStore) => eventually(() => store.run(call()));

describe('own redis-server: stop, restart, SCRIPT FLUSH', () => {
  let server: RedisServerHandle;
  let store: RedisMeterStore;
  const events: { level: string; code: string }[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    store = new RedisMeterStore({
      redis: { url: server.url, keyPrefix: 'outage:' },
      logger: { event: (level, code) => events.push({ level, code }) },
    });
    await untilReady(store);
  });
  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  it('reloads the script transparently after SCRIPT FLUSH (NOSCRIPT)', async () => {
    await store.run(call());
    const admin = new Redis(server.url);
    try {
      await admin.script('FLUSH');
      expect(await admin.script('EXISTS', '0000000000000000000000000000000000000000')).toEqual([0]);
      const before = store.health.commandCount;
      const result = await store.run(call());
      expect(result.consumed[0].granted).toBe(true);
      expect(store.health.commandCount - before).toBe(1);
    } finally {
      admin.disconnect();
    }
  });

  it('a stopped server rejects fast with store-unreachable, is counted and logged, and the same store recovers', async () => {
    await store.run(call());
    await server.stop();
    const { code, elapsed } = await failingRun(store);
    expect(['store-unreachable', 'store-timeout']).toContain(code);
    expect(elapsed).toBeLessThan(LIVENESS_MS);
    // Once the close is noticed, calls fail without waiting at all.
    await eventually(async () => expect(store.health.isReady()).toBe(false));
    // Under a loaded machine a reconnect attempt may be in flight: unreachable or timed out, never hanging.
    const again = await failingRun(store);
    expect(['store-unreachable', 'store-timeout']).toContain(again.code);
    expect(again.elapsed).toBeLessThan(LIVENESS_MS);
    expect(store.health.failures()['store-unreachable'] + store.health.failures()['store-timeout']).toBeGreaterThan(0);
    expect(await store.health.ping()).toBe(false);
    expect(events.map((e) => e.code)).toContain('store-connection-lost');

    await server.restart();
    const result = await recovered(store);
    expect(result.consumed[0].granted).toBe(true);
    expect(store.health.isReady()).toBe(true);
    expect(await store.health.ping()).toBe(true);
    const codes = events.map((e) => e.code);
    expect(codes.lastIndexOf('store-ready')).toBeGreaterThan(codes.indexOf('store-connection-lost'));
  });
});

describe('behind a TCP proxy: hung, slow, refused', () => {
  let proxy: TcpProxy;
  let store: RedisMeterStore;
  const events: string[] = [];

  beforeAll(async () => {
    const target = new URL(testRedisUrl());
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    store = new RedisMeterStore({
      redis: { url: proxy.url, keyPrefix: testKeyPrefix('outage-proxy'), commandTimeoutMs: 80 },
      logger: { event: (_level, code) => events.push(code) },
    });
    await untilReady(store);
  });
  afterAll(async () => {
    await store.close();
    await proxy.close();
  });

  it('a hung server (accepts, never answers) rejects with store-timeout, and recovers', async () => {
    await store.run(call());
    await proxy.setMode({ kind: 'hang' });
    for (let i = 0; i < 3; i++) {
      const { code, elapsed } = await failingRun(store);
      expect(code).toBe('store-timeout');
      expect(elapsed).toBeLessThan(LIVENESS_MS);
    }
    expect(store.health.failures()['store-timeout']).toBeGreaterThanOrEqual(3);
    // Three timeouts in a row drop the connection (its queue of unanswered commands) and reconnect;
    // calls stay bounded while the new connection hangs too.
    expect(events).toContain('store-reconnecting');
    for (let i = 0; i < 3; i++) {
      const { code, elapsed } = await failingRun(store);
      expect(['store-timeout', 'store-unreachable']).toContain(code);
      expect(elapsed).toBeLessThan(LIVENESS_MS);
    }
    await proxy.setMode({ kind: 'pass' });
    expect((await recovered(store)).consumed[0].granted).toBe(true);
  });

  it('a server slower than the command timeout rejects with store-timeout, and recovers', async () => {
    await proxy.setMode({ kind: 'delay', ms: 400 });
    const { code, elapsed } = await failingRun(store);
    expect(code).toBe('store-timeout');
    expect(elapsed).toBeLessThan(LIVENESS_MS);
    await proxy.setMode({ kind: 'pass' });
    expect((await recovered(store)).consumed[0].granted).toBe(true);
  });

  it('refused connections reject with store-unreachable, and the store reconnects on its own', async () => {
    await proxy.setMode({ kind: 'refuse' });
    await eventually(async () => expect((await failingRun(store)).code).toBe('store-unreachable'));
    const { elapsed } = await failingRun(store);
    expect(elapsed).toBeLessThan(LIVENESS_MS);
    await proxy.setMode({ kind: 'pass' });
    expect((await recovered(store)).consumed[0].granted).toBe(true);
  });

  it('a store that has never connected (server hung from the start) still answers within the bound', async () => {
    await proxy.setMode({ kind: 'hang' });
    const fresh = new RedisMeterStore({ redis: { url: proxy.url, keyPrefix: testKeyPrefix('outage-fresh') } });
    try {
      const { code, elapsed } = await failingRun(fresh);
      expect(['store-timeout', 'store-unreachable']).toContain(code);
      expect(elapsed).toBeLessThan(LIVENESS_MS);
      await proxy.setMode({ kind: 'pass' });
      expect((await recovered(fresh)).consumed[0].granted).toBe(true);
    } finally {
      await fresh.close();
      await proxy.setMode({ kind: 'pass' });
    }
  });
});
