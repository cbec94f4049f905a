// Grants in the store call: read in the decision's one store call (one round trip per decision with
// grants configured, also for a granted visitor), an expiry boundary (in effect until expiresAt,
// ignored from it, and removed by the next decision that is not dry), no TTL on grant keys, and two
// processes seeing each other's grants and revocations.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitorTag } from '../../src/engine/meters/redis-keys.js';
import type { MeterableProperty } from '../../src/engine/types.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { adminStack, type AdminStack, type StoreKind } from './harness.js';

const premiumOf = async (stack: AdminStack, userIdentifier: string, now?: number, dryRun = false) => {
  const { decision } = await stack.runtime.engine.decide({ surfaceSlug: 'premium', identity: { userIdentifier }, trusted: true, now, dryRun });
  return { access: (decision.features.premium.properties.enabled as MeterableProperty).hasAccess, decision };
};

describe.each<StoreKind>(['memory', 'redis'])('grants on %s', (kind) => {
  let stack: AdminStack;
  beforeAll(async () => {
    stack = await adminStack(kind, 'grants-store');
  });
  afterAll(() => stack?.close());

  it('a grant is in effect until its expiry and ignored from it; a dry decision leaves it, the next real one removes it', async () => {
    const user = `expiry-${randomUUID()}`;
    const now = Date.now();
    const expiresAt = now + 60_000;
    const visitor = { userType: 'authenticated' as const, identifier: user };
    await stack.runtime.engine.admin.grant(visitor, { plan: 'premium', expiresAt: new Date(expiresAt).toISOString() }, 'test', now);
    expect((await premiumOf(stack, user, expiresAt - 1)).access).toBe(true);
    const atExpiry = await premiumOf(stack, user, expiresAt, true);
    expect(atExpiry.access).toBe(false);
    expect(atExpiry.decision.customer.hasProducts).toBe(false);
    expect(atExpiry.decision.plans).toEqual([{ plan: 'registered', source: 'automatic' }]);
    // Dry: still stored (listed as inactive at that time).
    expect(await stack.runtime.engine.admin.grants(visitor, expiresAt)).toEqual([expect.objectContaining({ plan: 'premium', active: false })]);
    expect((await premiumOf(stack, user, expiresAt)).access).toBe(false);
    expect(await stack.runtime.engine.admin.grants(visitor, expiresAt)).toEqual([]);
  });

  it('a signed anonymous id (a gateway cookie) names the visitor inside it, as the gateway meters it', async () => {
    const id = randomUUID();
    const { engine } = stack.runtime;
    expect(await engine.visitorOf({ anonymousIdentifier: engine.anonymousIds!.sign(id) })).toEqual({ userType: 'anonymous', identifier: id });
    expect(await engine.visitorOf({ anonymousIdentifier: id })).toEqual({ userType: 'anonymous', identifier: id });
  });

  // Memory is per process: there is nothing to share.
  it.runIf(kind === 'redis')('a second process sees a grant and a revocation made through the first at its next decision', async () => {
    const other = await adminStack(kind, 'grants-store', {}, stack.keys);
    try {
      const user = `shared-${randomUUID()}`;
      const visitor = { userType: 'authenticated' as const, identifier: user };
      expect((await premiumOf(other, user)).access).toBe(false);
      await stack.runtime.engine.admin.grant(visitor, { plan: 'premium' }, 'test');
      expect((await premiumOf(other, user)).access).toBe(true);
      await stack.runtime.engine.admin.revoke(visitor, 'premium', 'test');
      expect((await premiumOf(other, user)).access).toBe(false);
    } finally {
      await other.close();
    }
  });
});

describe('grants on Redis: one round trip, no TTL', () => {
  let stack: AdminStack;
  let redis: Redis;
  const scope = 'grants-round-trips';
  beforeAll(async () => {
    stack = await adminStack('redis', scope);
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await stack?.close();
  });

  const calls = () => stack.runtime.store.health.commandCount;
  const perDecision = async (decide: () => Promise<unknown>, n = 20): Promise<number> => {
    const before = calls();
    for (let i = 0; i < n; i++) await decide();
    return (calls() - before) / n;
  };

  it('with grants configured a decision costs one store call: without a grant, with one, and on a surface without meters', async () => {
    const plain = `plain-${randomUUID()}`;
    const granted = `granted-${randomUUID()}`;
    await stack.runtime.engine.admin.grant({ userType: 'authenticated', identifier: granted }, { plan: 'premium' }, 'test');
    const read = (userIdentifier: string, surfaceSlug: string) => () =>
      stack.runtime.engine.decide({ surfaceSlug, identity: { userIdentifier }, trusted: true, resource: { id: 'a1' } });
    // The process learns a visitor's grants from its first decision (which costs 2 when they changed).
    await read(granted, 'article')();
    expect(await perDecision(read(plain, 'article'))).toBe(1);
    expect(await perDecision(read(granted, 'article'))).toBe(1);
    expect(await perDecision(read(granted, 'site'))).toBe(1);
    expect(await perDecision(read(plain, 'premium'))).toBe(1);
    // The first decision after a change costs two; then one again.
    const fresh = `fresh-${randomUUID()}`;
    await read(fresh, 'article')();
    await stack.runtime.engine.admin.grant({ userType: 'authenticated', identifier: fresh }, { plan: 'gift' }, 'test');
    expect(await perDecision(read(fresh, 'article'), 1)).toBe(2);
    expect(await perDecision(read(fresh, 'article'))).toBe(1);
  });

  it('grant keys carry no TTL (no eviction policy drops them) and live in the visitor hash tag', async () => {
    const user = `ttl-${randomUUID()}`;
    await stack.runtime.engine.admin.grant({ userType: 'authenticated', identifier: user }, { plan: 'premium', expiresAt: '2099-01-01' }, 'test');
    const key = `${testKeyPrefix(scope)}${visitorTag({ userType: 'authenticated', identifier: user })}:grants`;
    expect(await redis.pttl(key)).toBe(-1);
    expect(await redis.hkeys(key)).toEqual(['premium']);
  });
});
