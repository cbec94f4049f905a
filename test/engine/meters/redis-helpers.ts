// Shared helpers of the Redis store tests: a store on a test prefix, waiting for readiness, and
// listing the keys a test created.
import { Redis } from 'ioredis';
import { RedisMeterStore } from '../../../src/engine/meters/redis.js';
import type { RedisSettings } from '../../../src/engine/meters/redis-connection.js';

export function testStore(url: string, keyPrefix: string, extra: Partial<RedisSettings> & { anonymousRetentionDays?: number } = {}): RedisMeterStore {
  const { anonymousRetentionDays, ...redis } = extra;
  return new RedisMeterStore({ redis: { url, keyPrefix, ...redis }, anonymousRetentionDays });
}

export async function untilReady(store: RedisMeterStore, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!store.health.isReady()) {
    if (Date.now() > deadline) throw new Error(`store not ready within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Polls `attempt` until it resolves (recovery after an outage). */
export async function eventually<T>(attempt: () => Promise<T>, withinMs = 10_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}
