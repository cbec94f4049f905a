// The Redis meter store against a real redis-server: the shared semantics table, atomicity across two
// connections, period buckets with an injected clock, TTLs, one Cluster slot per call.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMeterStore, scriptInput } from '../../../src/engine/meters/redis.js';
import { PERIOD_GRACE_MS } from '../../../src/engine/meters/redis-keys.js';
import { periodEnd } from '../../../src/engine/meters/periods.js';
import type { MeterCall, Period, Visitor } from '../../../src/engine/meters/store.js';
import { testKeyPrefix, testRedisUrl } from '../../support/env.js';
import { describeSemantics } from './semantics-cases.js';
import { keysUnder, testStore, untilReady } from './redis-helpers.js';

const prefix = testKeyPrefix('redis-store');
let store: RedisMeterStore;
let other: RedisMeterStore;
let admin: Redis;

beforeAll(async () => {
  store = testStore(testRedisUrl(), prefix, { anonymousRetentionDays: 30 });
  other = testStore(testRedisUrl(), prefix, { anonymousRetentionDays: 30 });
  admin = new Redis(testRedisUrl());
  await Promise.all([untilReady(store), untilReady(other)]);
});
afterAll(async () => {
  await Promise.all([store.close(), other.close()]);
  admin.disconnect();
});

describeSemantics('the Redis store', () => store);

const visitor = (userType: Visitor['userType'] = 'anonymous'): Visitor => ({ userType, identifier: `v-${randomUUID()}` });
const limited = (v: Visitor, resourceHash?: string, uniqueResources = false): MeterCall => ({
  visitor: v,
  now: Date.now(),
  counters: [resourceHash === undefined ? { counterId: 'articles', periods: ['month'] } : { counterId: 'articles', periods: ['month'], resourceHash }],
  consume: [{ counterId: 'articles', units: 1, meter: { limit: 3, period: 'month', uniqueResources, allowPartial: false } }],
  dryRun: false,
});

describe('atomicity', () => {
  it('50 concurrent consumes from two connections against a limit of 3 grant exactly 3', async () => {
    const v = visitor();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : other).run(limited(v))));
    expect(results.filter((r) => r.consumed[0].granted)).toHaveLength(3);
    const after = await store.run({ ...limited(v), consume: [] });
    expect(after.readings.articles.usage.month).toBe(3);
  });

  it('50 concurrent consumes of one resource on a uniqueResources meter record it once', async () => {
    const v = visitor();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : other).run(limited(v, 'res-1', true))));
    expect(results.every((r) => r.consumed[0].granted)).toBe(true);
    expect(results.filter((r) => r.consumed[0].units === 1)).toHaveLength(1);
    expect(results.filter((r) => r.consumed[0].free)).toHaveLength(49);
    const after = await store.run({ ...limited(v, 'res-1', true), consume: [] });
    expect(after.readings.articles).toEqual({ usage: { month: 1 }, seen: { month: true } });
  });
});

describe('period buckets with an injected clock', () => {
  const boundaries: [Period, number][] = [
    ['day', Date.UTC(2026, 10, 29)],
    ['week', Date.UTC(2026, 10, 30)], // Monday
    ['month', Date.UTC(2026, 11, 1)],
    ['year', Date.UTC(2027, 0, 1)],
  ];
  for (const [period, boundary] of boundaries) {
    it(`the last millisecond before a ${period} boundary and the first after it land in different keys`, async () => {
      const v = visitor('authenticated');
      const scope = `${prefix}${period}-${randomUUID()}:`;
      const call = (now: number): MeterCall => ({
        visitor: v,
        now,
        counters: [{ counterId: 'c', periods: [period] }],
        consume: [{ counterId: 'c', units: 1, meter: { limit: 1, period, uniqueResources: false, allowPartial: false } }],
        dryRun: false,
      });
      const scoped = testStore(testRedisUrl(), scope);
      try {
        await untilReady(scoped);
        expect((await scoped.run(call(boundary - 1))).consumed[0].granted).toBe(true);
        expect((await scoped.run(call(boundary - 1))).consumed[0].granted).toBe(false);
        expect((await scoped.run(call(boundary))).consumed[0].granted).toBe(true);
        const keys = await keysUnder(admin, scope);
        expect(keys).toHaveLength(2);
        expect(await Promise.all(keys.map((k) => admin.get(k)))).toEqual(['1', '1']);
      } finally {
        await scoped.close();
      }
    });
  }
});

describe('expiry', () => {
  const everyPeriod = (v: Visitor, now: number): MeterCall => ({
    visitor: v,
    now,
    counters: [
      { counterId: 'a', periods: ['lifetime', 'day', 'week', 'month', 'year'], resourceHash: 'h1' },
      { counterId: 'b', periods: ['lifetime', 'month'] },
    ],
    consume: [
      { counterId: 'a', units: 1, meter: { limit: 5, period: 'month', uniqueResources: true, allowPartial: false } },
      { counterId: 'b', units: 2, meter: null },
    ],
    dryRun: false,
  });

  it('period keys expire after their period (plus grace), anonymous lifetime keys after the retention', async () => {
    const scope = `${prefix}ttl-${randomUUID()}:`;
    const scoped = testStore(testRedisUrl(), scope, { anonymousRetentionDays: 30 });
    try {
      await untilReady(scoped);
      const now = Date.now();
      await scoped.run(everyPeriod(visitor('anonymous'), now));
      const keys = await keysUnder(admin, scope);
      expect(keys).toHaveLength(2 * 5 + 2); // counter a: count + resource set per period; b: count per period
      for (const key of keys) {
        const ttl = await admin.pttl(key);
        const period = key.replace(/:r$/, '').split(':').at(-2) as Period;
        const expected = period === 'lifetime' ? 30 * 86_400_000 : periodEnd(period, now) - now + PERIOD_GRACE_MS;
        expect(ttl, key).toBeGreaterThan(expected - 5_000);
        expect(ttl, key).toBeLessThanOrEqual(expected);
      }
    } finally {
      await scoped.close();
    }
  });

  it('authenticated lifetime keys are the only keys without a TTL', async () => {
    const scope = `${prefix}ttl-${randomUUID()}:`;
    const scoped = testStore(testRedisUrl(), scope);
    try {
      await untilReady(scoped);
      await scoped.run(everyPeriod(visitor('authenticated'), Date.now()));
      const keys = await keysUnder(admin, scope);
      expect(keys).toHaveLength(12);
      for (const key of keys) {
        const lifetime = /:lifetime:1970-01-01(:r)?$/.test(key);
        expect(await admin.pttl(key), key)[lifetime ? 'toBe' : 'toBeGreaterThan'](lifetime ? -1 : 0);
      }
    } finally {
      await scoped.close();
    }
  });
});

describe('key layout', () => {
  it('every key one call touches hashes to the same cluster slot, with any identifier', async () => {
    const scope = `${prefix}slot-${randomUUID()}:`;
    const scoped = testStore(testRedisUrl(), scope);
    const odd: Visitor = { userType: 'anonymous', identifier: `{weird} id ${'é'.repeat(300)} ${randomUUID()}` };
    const call: MeterCall = {
      visitor: odd,
      now: Date.now(),
      counters: [
        { counterId: 'default:widget.enabled', periods: ['lifetime', 'day', 'week', 'month', 'year'], resourceHash: 'h' },
        { counterId: '{other}', periods: ['month'] },
      ],
      consume: [
        { counterId: 'default:widget.enabled', units: 1, meter: null },
        { counterId: '{other}', units: 1, meter: null },
      ],
      dryRun: false,
    };
    try {
      await untilReady(scoped);
      await scoped.run(call);
      const written = await keysUnder(admin, scope);
      const declared = scriptInput(call, scope, 400).keys;
      expect(written.sort()).toEqual([...declared].sort());
      expect(new Set(declared.map((k) => calculateSlot(k))).size).toBe(1);
    } finally {
      await scoped.close();
    }
  });

  it('rejects a key prefix holding a hash tag', () => {
    expect(() => testStore(testRedisUrl(), 'bad{prefix}:')).toThrow(/keyPrefix.*must not hold a Redis hash tag/);
  });

  it('issues one script call per run', async () => {
    const before = store.health.commandCount;
    await store.run(limited(visitor()));
    await store.run(limited(visitor()));
    expect(store.health.commandCount - before).toBe(2);
  });
});
