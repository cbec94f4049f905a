// The memory signal (issue 13): Redis's used memory against its maxmemory, asked by /readyz and
// /metrics (never on the request path). At 90 % readiness says `degraded` with the reason and the log
// says store-memory-high, before Redis refuses writes (noeviction) or evicts meters; back below, it
// says so too.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { sample, startOpsStack, type OpsStack } from './harness.js';

const MAX = 8 * 1024 * 1024;
let redis: RedisServerHandle;
let admin: Redis;
let stack: OpsStack;
beforeAll(async () => {
  redis = await startRedisServer({ args: ['--maxmemory', String(MAX), '--maxmemory-policy', 'volatile-lru'] });
  admin = new Redis(redis.url);
  stack = await startOpsStack('store-memory', { redisUrl: redis.url });
});
afterAll(async () => {
  await stack?.close();
  admin?.disconnect();
  await redis?.stop();
});

const used = async () => Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))![1]);
const readyz = async () => {
  const res = await fetch(`${stack.running.ops.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { degraded?: boolean; checks: Record<string, unknown>; reasons: string[] } };
};

describe('Redis memory', () => {
  it('at 90 % of maxmemory: /readyz degraded with the reason, /metrics, and one store-memory-high line; and back', async () => {
    expect(await readyz()).toMatchObject({ status: 200, body: { checks: { storeMemory: 'ok' } } });

    // Fill Redis (keys without a TTL: volatile-lru never evicts them) past 90 %.
    const filler = 'x'.repeat(1024);
    let n = 0;
    while ((await used()) < 0.92 * MAX) {
      const batch = admin.pipeline();
      for (let i = 0; i < 200; i++) batch.set(`filler:${n++}`, filler);
      await batch.exec();
    }
    const high = await readyz();
    expect(high.status).toBe(200);
    expect(high.body).toMatchObject({ degraded: true, checks: { store: 'ok', storeMemory: 'high' } });
    expect(high.body.reasons.join('\n')).toMatch(/Redis memory at 9\d% of maxmemory \(\d+ MB of 8 MB\)/);
    const metrics = await (await fetch(`${stack.running.ops.url}/metrics`)).text();
    expect(sample(metrics, 'plangate_store_memory_max_bytes')).toBe(MAX);
    expect(sample(metrics, 'plangate_store_memory_used_bytes') / MAX).toBeGreaterThanOrEqual(0.9);
    await readyz();
    expect(stack.logLines().filter((l) => l.code === 'store-memory-high')).toHaveLength(1);

    for (let at = 0; at < n; at += 1000) await admin.del(...Array.from({ length: Math.min(1000, n - at) }, (_, i) => `filler:${at + i}`));
    expect(await readyz()).toMatchObject({ status: 200, body: { checks: { storeMemory: 'ok' } } });
    expect(stack.logLines().filter((l) => l.code === 'store-memory-ok')).toHaveLength(1);
  });
});
