// The decision pipeline (docs/concepts.md "The decision pipeline") through a loaded config, on the in-memory store and on a real
// Redis: dryRun, declared consumption all or nothing, route requirements, denied requests running
// their workflows dry, customer, a counter shared by plans with different periods; then the store
// failure policy with a store that cannot answer.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRequest, IdentityInput } from '../../src/engine/engine.js';
import { StoreUnavailableError, type MeterStore } from '../../src/engine/meters/store.js';
import { MemoryMeterStore } from '../../src/engine/meters/memory.js';
import type { DeclaredConsumption } from '../../src/engine/model.js';
import type { SurfaceDecision } from '../../src/engine/types.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { keysUnder } from './meters/redis-helpers.js';
import { loadFixture, testSigner, type TestSigner } from '../fixtures/engine/harness.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';

// A Wednesday in mid-January: day, month and lifetime buckets all differ, and the next day is in the same month.
const NOW = Date.UTC(2026, 0, 14, 12);
const DAY_MS = 86_400_000;
const ARTICLE: DeclaredConsumption = { feature: 'articles', property: 'enabled', units: 1 };
const PREMIUM: DeclaredConsumption = { feature: 'articles', property: 'premium', units: 1 };

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
afterAll(() => signer?.cleanup());

function everyFeatureListed(decision: SurfaceDecision) {
  expect(Object.keys(decision.features)).toEqual(['articles', 'perks']);
  expect(Object.keys(decision.features.articles.properties)).toEqual(['enabled', 'extra', 'premium', 'tier']);
  expect(Object.keys(decision.features.perks.properties)).toEqual(['enabled', 'bonus', 'quota']);
}

describe.each(['memory', 'redis'] as const)('the pipeline on the %s store', (kind) => {
  let runtime: Runtime;
  const prefix = testKeyPrefix(`engine-decide-${kind}`);

  beforeAll(async () => {
    const env: Record<string, string> = kind === 'redis' ? { ENGINE_TEST_REDIS_URL: testRedisUrl(), ENGINE_TEST_KEY_PREFIX: prefix } : {};
    runtime = await loadFixture('pipeline.yaml', { signer, env });
    expect(runtime.store.kind).toBe(kind);
    const deadline = Date.now() + 5_000;
    while (!(await runtime.store.health.ping())) {
      if (Date.now() > deadline) throw new Error('the meter store did not become ready');
    }
  });
  afterAll(async () => {
    if (kind === 'redis') {
      const redis = new Redis(testRedisUrl());
      const keys = await keysUnder(redis, prefix);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    await runtime?.close();
  });

  const anonymous = (): IdentityInput => ({ anonymousIdentifier: `anon-${randomUUID()}` });
  const decide = (surfaceSlug: string, identity: IdentityInput, extra: Partial<DecisionRequest> = {}) =>
    runtime.engine.decide({ surfaceSlug, identity, trusted: true, now: NOW, ...extra });
  const articles = async (identity: IdentityInput, now = NOW) => (await decide('peek', identity, { now })).decision.features.articles.properties;

  it('dryRun reports the declared consumption as made and records nothing', async () => {
    const visitor = anonymous();
    const { decision, denied } = await decide('read', visitor, { dryRun: true });
    expect(denied).toBe(false);
    expect(decision.features.articles.properties.enabled).toEqual({
      type: 'meterable',
      counterId: 'default:feat_articles.enabled',
      hasAccess: true,
      consumedUnits: 1,
      remainingUnits: 2,
      totalUnits: 3,
      uniqueResources: false,
      resourceIdUsed: false,
      periodStart: 'Thu, 01 Jan 1970 00:00:00 GMT',
      consumedInRequest: true,
      consumedUnitsInRequest: 1,
      excessUnitsInRequest: 0,
      isFallback: false,
    });
    expect((await articles(visitor)).enabled).toMatchObject({ consumedUnits: 0, remainingUnits: 3 });
  });

  it('dryRun: a workflow’s consume() reports as if consumed and records nothing', async () => {
    const visitor = anonymous();
    const { decision } = await decide('counting', visitor, { dryRun: true });
    expect(decision.surfaceBehavior.properties).toEqual({ granted: true, remaining: 2, dryRun: true });
    expect(decision.features.articles.properties.enabled).toMatchObject({ consumedUnits: 1, consumedInRequest: true });
    expect((await articles(visitor)).enabled).toMatchObject({ consumedUnits: 0 });
    // Without dryRun it records.
    await decide('counting', visitor);
    expect((await articles(visitor)).enabled).toMatchObject({ consumedUnits: 1 });
  });

  it('dryRun reports exactly what the same request then reports for real, also when it consumes one counter twice', async () => {
    const visitor = anonymous();
    await decide('read', visitor);
    await decide('read', visitor);
    // 2 of 3 used: the route's declared consumption takes the last one, the workflow's consume() is refused.
    const request = { route: { consume: [ARTICLE] } };
    const comparable = ({ decision, denied }: Awaited<ReturnType<typeof decide>>) => ({
      denied,
      features: decision.features,
      properties: { ...decision.surfaceBehavior.properties, dryRun: 'either' },
    });
    const dry = await decide('counting', visitor, { ...request, dryRun: true });
    const real = await decide('counting', visitor, request);
    expect(real.decision.surfaceBehavior.properties).toEqual({ granted: false, remaining: 0, dryRun: false });
    expect(comparable(dry)).toEqual(comparable(real));
  });

  it('the surface’s consume list is all or nothing across two counters', async () => {
    const visitor = anonymous();
    const first = await decide('both', visitor);
    expect(first.denied).toBe(false);
    expect(first.decision.features.articles.properties.enabled).toMatchObject({ hasAccess: true, consumedUnits: 1, consumedInRequest: true });
    expect(first.decision.features.articles.properties.extra).toMatchObject({ hasAccess: true, consumedUnits: 1, remainingUnits: 0, consumedInRequest: true });

    // `extra` (limit 1) is spent: the whole declared consumption is refused, `enabled` included.
    const second = await decide('both', visitor);
    expect(second).toMatchObject({ denied: true, denialReason: 'consumption' });
    expect(second.decision.features.articles.properties.enabled).toMatchObject({
      hasAccess: false,
      consumedUnits: 1,
      remainingUnits: 2,
      consumedInRequest: false,
      consumedUnitsInRequest: 0,
    });
    expect(second.decision.features.articles.properties.extra).toMatchObject({
      hasAccess: false,
      consumedUnits: 1,
      consumedInRequest: false,
      excessUnitsInRequest: 1,
    });
    everyFeatureListed(second.decision);
    expect(await articles(visitor)).toMatchObject({ enabled: { consumedUnits: 1 }, extra: { consumedUnits: 1 } });
  });

  it('a counter named by the route and the surface is consumed once', async () => {
    const visitor = anonymous();
    const { decision } = await decide('read', visitor, { route: { consume: [ARTICLE] } });
    expect(decision.features.articles.properties.enabled).toMatchObject({ consumedUnits: 1, consumedUnitsInRequest: 1 });
    expect((await articles(visitor)).enabled).toMatchObject({ consumedUnits: 1 });
  });

  it('a failing route requirement denies the request: nothing consumed, the workflow runs dry, every feature listed', async () => {
    const visitor = anonymous();
    const outcome = await decide('counting', visitor, { route: { require: PREMIUM, consume: [ARTICLE] } });
    expect(outcome).toMatchObject({ denied: true, denialReason: 'requirement' });
    expect(outcome.decision.status).toBe('success');
    // The workflow still returns its properties; its consume() ran dry.
    expect(outcome.decision.surfaceBehavior.properties).toEqual({ granted: true, remaining: 2, dryRun: true });
    everyFeatureListed(outcome.decision);
    expect(outcome.decision.features.articles.properties.premium).toEqual({ type: 'boolean', value: false, isFallback: true });
    expect((await articles(visitor)).enabled).toMatchObject({ consumedUnits: 0, remainingUnits: 3 });
  });

  it('a route requirement on a spent meter denies, judged before consumption', async () => {
    const visitor = anonymous();
    for (let i = 0; i < 3; i++) expect((await decide('read', visitor, { route: { require: ARTICLE, consume: [] } })).denied).toBe(false);
    const spent = await decide('read', visitor, { route: { require: ARTICLE, consume: [] } });
    expect(spent).toMatchObject({ denied: true, denialReason: 'requirement' });
    expect(spent.decision.features.articles.properties.enabled).toMatchObject({ hasAccess: false, consumedUnits: 3, remainingUnits: 0 });
    expect((await articles(visitor)).enabled).toMatchObject({ consumedUnits: 3 });
  });

  it('a passing route requirement lets the declared consumption through', async () => {
    const identity = { userJwt: await signer.sign({ sub: `premium-${randomUUID()}`, premium: true }) };
    const outcome = await decide('read', identity, { route: { require: PREMIUM, consume: [] } });
    expect(outcome.denied).toBe(false);
    expect(outcome.decision.features.articles.properties.enabled).toMatchObject({ consumedUnits: 1, totalUnits: 10, consumedInRequest: true });
  });

  it('customer.isCustomer is true only when a plan came from provisioning', async () => {
    const notCustomer = { isCustomer: false, hasProducts: false, customerIdentifiers: [] };
    const customerOf = async (identity: IdentityInput) => (await decide('peek', identity)).decision.customer;
    expect(await customerOf(anonymous())).toEqual(notCustomer);
    expect(await customerOf({ userIdentifier: 'someone' })).toEqual(notCustomer);
    expect(await customerOf({ userJwt: await signer.sign({ sub: 'plain', premium: false }) })).toEqual(notCustomer);
    expect(await customerOf({ userJwt: await signer.sign({ sub: 'subscriber', premium: true }) })).toEqual({
      isCustomer: true,
      hasProducts: true,
      customerIdentifiers: [],
    });
  });

  it('a counter shared by plans with different periods shows the right usage under each plan at once', async () => {
    const user = `shared-${randomUUID()}`;
    const provided = { userIdentifier: user }; // member: 10 a month
    const daily = async () => ({ userJwt: await signer.sign({ sub: user, daily: true }) }); // member + daily: 20 a day wins
    await decide('read', provided);
    await decide('read', provided);
    expect((await articles(provided)).enabled).toMatchObject({ consumedUnits: 2, totalUnits: 10, periodStart: 'Thu, 01 Jan 2026 00:00:00 GMT' });
    expect((await articles(await daily())).enabled).toMatchObject({ consumedUnits: 2, totalUnits: 20, periodStart: 'Wed, 14 Jan 2026 00:00:00 GMT' });

    // The next day: a fresh daily bucket, the same monthly one; consuming under the daily plan counts in both.
    const tomorrow = NOW + DAY_MS;
    expect((await articles(await daily(), tomorrow)).enabled).toMatchObject({ consumedUnits: 0, periodStart: 'Thu, 15 Jan 2026 00:00:00 GMT' });
    await decide('read', await daily(), { now: tomorrow });
    expect((await articles(await daily(), tomorrow)).enabled).toMatchObject({ consumedUnits: 1 });
    expect((await articles(provided, tomorrow)).enabled).toMatchObject({ consumedUnits: 3, totalUnits: 10 });
  });
});

/** A store that cannot answer, as Redis does when it is down (a unit test of the failure policy). */
class UnavailableStore implements MeterStore {
  readonly kind = 'redis' as const;
  async run(): Promise<never> {
    throw new StoreUnavailableError('store-unreachable', 'Redis is unreachable (test)');
  }
  async allowNewId(): Promise<never> {
    throw new StoreUnavailableError('store-unreachable', 'Redis is unreachable (test)');
  }
  readonly admin = new MemoryMeterStore().admin;
  async close(): Promise<void> {}
}

describe.each([
  { policy: 'open', access: true },
  { policy: 'closed', access: false },
] as const)('a store that cannot answer, failurePolicy $policy', ({ policy, access }) => {
  let runtime: Runtime;
  const store = new UnavailableStore();

  beforeAll(async () => {
    runtime = await loadFixture('pipeline.yaml', { signer, store, env: { ENGINE_TEST_POLICY: policy } });
  });
  afterAll(() => runtime?.close());

  const meterable = (counterId: string, hasAccess: boolean, isFallback = false) => ({ type: 'meterable', counterId, hasAccess, isFallback });

  it('degrades the decision: metered properties keep type, counterId and isFallback, hasAccess by the policy, no unit fields', async () => {
    const before = runtime.engine.eventCounts().get('store-unreachable') ?? 0;
    const { decision, denied } = await runtime.engine.decide({ surfaceSlug: 'peek', identity: { anonymousIdentifier: 'down' }, trusted: false });
    expect(denied).toBe(false);
    expect(decision.status).toBe('success');
    expect(decision.degraded).toBe(true);
    everyFeatureListed(decision);
    const { articles, perks } = decision.features;
    expect(articles.properties.enabled).toEqual(meterable('default:feat_articles.enabled', access));
    expect(articles.properties.extra).toEqual(meterable('default:feat_articles.extra', access));
    // on, off and non-meterable properties are unaffected.
    expect(perks.properties.enabled).toEqual(meterable('default:feat_perks.enabled', true));
    expect(perks.properties.bonus).toEqual(meterable('default:feat_perks.bonus', false));
    expect(articles.properties.premium).toEqual({ type: 'boolean', value: false, isFallback: true });
    expect(perks.properties.quota).toEqual({ type: 'number', value: 1, isFallback: true });
    expect(runtime.engine.eventCounts().get('store-unreachable')).toBe(before + 1);
  });

  it('isFallback keeps its meaning: a meterable no plan sets stays the off fallback', async () => {
    const { decision } = await runtime.engine.decide({ surfaceSlug: 'peek', identity: { userIdentifier: 'member' }, trusted: true });
    expect(decision.degraded).toBe(true);
    expect(decision.features.articles.properties.enabled).toEqual(meterable('default:feat_articles.enabled', access));
    expect(decision.features.articles.properties.extra).toEqual(meterable('default:feat_articles.extra', false, true));
  });

  it(`declared consumption is ${access ? 'granted' : 'refused'} by the policy`, async () => {
    const outcome = await runtime.engine.decide({ surfaceSlug: 'read', identity: { anonymousIdentifier: 'down' }, trusted: false });
    expect(outcome.denied).toBe(!access);
    expect(outcome.decision.degraded).toBe(true);
    expect(outcome.decision.features.articles.properties.enabled).toEqual(meterable('default:feat_articles.enabled', access));
  });

  it('a workflow’s consume() follows the policy and sees no unit fields', async () => {
    const outcome = await runtime.engine.decide({ surfaceSlug: 'counting', identity: { anonymousIdentifier: 'down' }, trusted: false });
    expect(outcome.decision.degraded).toBe(true);
    expect(outcome.decision.surfaceBehavior.properties).toEqual({ granted: access, remaining: null, dryRun: false });
  });
});
