// The meter store through a real Sentinel group (one primary, one replica, three Sentinels, all
// started from redis-server) while the primary is killed under load: calls fail by policy within the
// bound while there is no primary, the store follows the primary the Sentinels promote without a
// restart, and no visitor is granted more than the meter allows.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMeterStore } from '../../../src/engine/meters/redis.js';
import { testKeyPrefix } from '../../support/env.js';
import { auditLoad, startMeterLoad } from '../../support/meter-load.js';
import { startRedisSentinel, type RedisSentinelGroup } from '../../support/redis-sentinel.js';

/** Every call settles within this, fault or not (20x the 80 ms command timeout, and slack for a loaded machine). */
const CALL_BOUND_MS = 3_000;
/** down-after 1 s, the Sentinels' vote, the promotion, the client's next attempt; generous for a loaded machine. */
const RECOVERY_BOUND_MS = 25_000;
const NOW = Date.UTC(2026, 10, 18, 12);

let group: RedisSentinelGroup;
beforeAll(async () => {
  group = await startRedisSentinel({ downAfterMs: 1_000 });
}, 60_000);
afterAll(async () => {
  await group?.stop();
});

describe('the Sentinel primary killed mid-load', () => {
  it('fails calls by policy within the bound, follows the promoted replica without a restart, and grants no more than the meter allows', async () => {
    const prefix = testKeyPrefix('sentinel-failover');
    const store = new RedisMeterStore({ redis: { sentinels: group.sentinels, name: group.name, keyPrefix: prefix } });
    try {
      expect(await store.health.whenReady(10_000)).toBe(true);
      const first = await group.primary();
      const visitors = Array.from({ length: 8 }, (_, i) => `${prefix}sentinel-${i}`);
      const limit = 60;
      const load = startMeterLoad({ store, visitors, limit, concurrency: 16, pauseMs: 2, now: NOW });
      await new Promise((r) => setTimeout(r, 400));
      const killedAt = performance.now();
      await group.kill(first.port);
      const recoveredAt = await load.answeredAfter(killedAt, RECOVERY_BOUND_MS);
      const refused = await load.everyVisitorRefusedAfter(recoveredAt, 20_000);
      const calls = await load.stop();
      await group.waitUntilStable();
      const now = await group.primary();
      const redis = new Redis({ host: now.host, port: now.port });
      const audit = await auditLoad(redis, { prefix, visitors, limit, now: NOW }, calls).finally(() => redis.disconnect());
      const outcome = JSON.stringify({ recoveryMs: Math.round(recoveredAt - killedAt), audit });
      expect(now.port, outcome).not.toBe(first.port);
      expect(audit, outcome).toMatchObject({ beyondPolicy: 0, inconsistent: 0, overLimit: 0 });
      expect(audit.failed.other ?? 0, outcome).toBe(0);
      expect(audit.maxMs, outcome).toBeLessThan(CALL_BOUND_MS);
      expect(calls.some((c) => c.start >= killedAt && c.start < recoveredAt && c.outcome !== 'granted' && c.outcome !== 'denied'), outcome).toBe(true);
      expect(refused, outcome).toBe(true);
      expect(store.health.isReady()).toBe(true);
    } finally {
      await store.close();
    }
  }, 90_000);
});
