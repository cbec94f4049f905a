// The meter store on a real Redis Cluster (3 primaries, 3 replicas, cluster-node-timeout 1 s) while
// it changes under load: the primary serving the tested visitors is killed and its replica promoted,
// and one visitor slot is migrated key by key to another primary (MIGRATING/IMPORTING, so the
// two-key script meets ASK and TRYAGAIN, then MOVED). The same store must keep every call bounded,
// answer failures by policy (a StoreUnavailableError, never a wrong grant), and recover by itself.
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMeterStore } from '../../../src/engine/meters/redis.js';
import { testKeyPrefix } from '../../support/env.js';
import { auditLoad, startMeterLoad, visitorsInSlots, type LoadAudit } from '../../support/meter-load.js';
import { migrateSlot, startRedisCluster, type RedisCluster } from '../../support/redis-cluster.js';

/** Every call settles within this, fault or not (20x the 80 ms command timeout, and slack for a loaded machine). */
const CALL_BOUND_MS = 3_000;
/** The failover itself: node timeout 1 s, the replica's election, the client's slot refresh; generous for a loaded machine. */
const RECOVERY_BOUND_MS = 20_000;
const NOW = Date.UTC(2026, 10, 18, 12);

let cluster: RedisCluster;
let admin: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1_000 });
  admin = new Cluster(cluster.seeds, { redisOptions: { maxRetriesPerRequest: 3 } });
}, 60_000);
afterAll(async () => {
  admin?.disconnect();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh store on the cluster for one test, ready, closed afterwards. */
async function withStore(scope: string, test: (store: RedisMeterStore, prefix: string) => Promise<void>): Promise<void> {
  const prefix = testKeyPrefix(scope);
  const store = new RedisMeterStore({ redis: { cluster: cluster.seeds, keyPrefix: prefix } });
  try {
    expect(await store.health.whenReady(10_000)).toBe(true);
    await test(store, prefix);
  } finally {
    await store.close();
  }
}

function expectWithinPolicy(audit: LoadAudit): void {
  expect(audit, JSON.stringify(audit)).toMatchObject({ beyondPolicy: 0, inconsistent: 0, overLimit: 0 });
  expect(audit.failed.other ?? 0, JSON.stringify(audit)).toBe(0);
  expect(audit.maxMs, JSON.stringify(audit)).toBeLessThan(CALL_BOUND_MS);
}

describe('a Cluster primary killed mid-load', () => {
  it('fails calls by policy within the bound, follows the promoted replica without a restart, and grants no more than the meter allows', async () => {
    await withStore('cluster-failover', async (store, prefix) => {
      const victim = (await cluster.nodes()).find((n) => n.role === 'primary' && n.running)!;
      const serves = (slot: number) => victim.slots.some(([a, b]) => slot >= a && slot <= b);
      const visitors = visitorsInSlots(8, serves, cluster.slotOf, `${prefix}failover`);
      const limit = 60;
      const load = startMeterLoad({ store, visitors, limit, concurrency: 16, pauseMs: 2, now: NOW });
      await sleep(400);
      const killedAt = performance.now();
      await cluster.kill(victim.port);
      const recoveredAt = await load.answeredAfter(killedAt, RECOVERY_BOUND_MS);
      // Keep going until every visitor has been refused after the failover: the meter still holds.
      const refused = await load.everyVisitorRefusedAfter(recoveredAt, 20_000);
      const calls = await load.stop();
      await cluster.waitUntilOk();
      const audit = await auditLoad(admin, { prefix, visitors, limit, now: NOW }, calls);
      const during = calls.filter((c) => c.start >= killedAt && c.start < recoveredAt);
      expectWithinPolicy(audit);
      expect(during.some((c) => c.outcome !== 'granted' && c.outcome !== 'denied')).toBe(true);
      expect(refused).toBe(true);
      expect(store.health.isReady()).toBe(true);
    });
  }, 90_000);
});

describe('a slot migrated mid-load', () => {
  it('answers every call through ASK, TRYAGAIN and MOVED while the slot moves key by key, exactly', async () => {
    await withStore('cluster-migrate', async (store, prefix) => {
      const primaries = (await cluster.nodes()).filter((n) => n.role === 'primary' && n.running);
      const slot = primaries[0].slots[0][0] + 7;
      const visitors = visitorsInSlots(6, (s) => s === slot, cluster.slotOf, `${prefix}migrate`);
      const limit = 40;
      const load = startMeterLoad({ store, visitors, limit, concurrency: 12, pauseMs: 2, now: NOW });
      await sleep(300);
      const before = await errorStats(primaries[0].port);
      const moved = await migrateSlot(cluster, slot, primaries[1], { pauseMs: 30 });
      const after = await errorStats(primaries[0].port);
      // Keep going until every visitor has been refused on the new owner.
      const refused = await load.everyVisitorRefusedAfter(performance.now(), 20_000);
      const calls = await load.stop();
      const audit = await auditLoad(admin, { prefix, visitors, limit, now: NOW }, calls);
      const outcome = JSON.stringify({ moved, before, after, audit });
      // The migration met the script half-way: sent to the target (ASK) and refused while one
      // visitor's two keys were on different nodes (TRYAGAIN).
      expect(moved.keys, outcome).toBe(visitors.length * 2);
      expect((after.ASK ?? 0) - (before.ASK ?? 0), outcome).toBeGreaterThan(0);
      expect((after.TRYAGAIN ?? 0) - (before.TRYAGAIN ?? 0), outcome).toBeGreaterThan(0);
      expectWithinPolicy(audit);
      expect(audit.failed, outcome).toEqual({});
      expect(audit.granted).toBe(visitors.length * limit);
      expect(refused).toBe(true);
      expect((await cluster.ownerOf(slot)).port).toBe(primaries[1].port);
    });
  }, 90_000);
});

/** ASK and TRYAGAIN replies a node has sent so far (INFO errorstats). */
async function errorStats(port: number): Promise<Record<string, number>> {
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
  try {
    const info = await redis.info('errorstats');
    return Object.fromEntries([...info.matchAll(/^errorstat_(\w+):count=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
  } finally {
    redis.disconnect();
  }
}
