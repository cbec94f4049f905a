// The meter store through a real Sentinel group (one primary, one replica, three Sentinels, all
// started from redis-server) while the primary is killed under load: calls fail by policy within the
// bound while there is no primary, the store follows the primary the Sentinels promote without a
// restart, and no visitor is granted more than the meter allows.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMeterStore } from '../../../src/engine/meters/redis.js';
import { testKeyPrefix } from '../../support/env.js';
import { auditLoad, loadThroughFault } from '../../support/meter-load.js';
import { startRedisSentinel, type RedisSentinelGroup } from '../../support/redis-sentinel.js';
import { expectFailoverWithinPolicy, FAILOVER_LOAD } from './failover-checks.js';

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
      const outcome = await loadThroughFault({
        ...FAILOVER_LOAD,
        store,
        visitors: Array.from({ length: 8 }, (_, i) => `${prefix}sentinel-${i}`),
        fault: () => group.kill(first.port),
        audit: async (calls, options) => {
          await group.waitUntilStable();
          const redis = new Redis(await group.primary());
          return auditLoad(redis, { prefix, ...options }, calls).finally(() => redis.disconnect());
        },
      });
      expect((await group.primary()).port).not.toBe(first.port);
      expectFailoverWithinPolicy(outcome);
      expect(store.health.isReady()).toBe(true);
    } finally {
      await store.close();
    }
  }, 90_000);
});
