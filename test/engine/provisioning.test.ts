// Provisioning (docs/concepts.md "Provisioning"): declarative claim rules (equals, is one of, exists), never through the
// prototype chain; hostile claims are data; unknown plan slugs from a workflow are logged and counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisioningRule } from '../../src/engine/model.js';
import { ruleMatches } from '../../src/engine/provisioning.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { loadFixture, testSigner, type TestSigner } from '../fixtures/engine/harness.js';

type RuleCase = { name: string; r: Omit<ProvisioningRule, 'plans'>; claims: Record<string, unknown>; match: boolean };

describe('ruleMatches', () => {
  const cases: RuleCase[] = [
    { name: 'equals, same value', r: { claim: 'tier', equals: 'gold' }, claims: { tier: 'gold' }, match: true },
    { name: 'equals, other value', r: { claim: 'tier', equals: 'gold' }, claims: { tier: 'silver' }, match: false },
    { name: 'equals, claim absent', r: { claim: 'tier', equals: 'gold' }, claims: {}, match: false },
    { name: 'equals is strict (1 is not "1")', r: { claim: 'level', equals: 1 }, claims: { level: '1' }, match: false },
    { name: 'equals null matches a null claim', r: { claim: 'org', equals: null }, claims: { org: null }, match: true },
    { name: 'equals null does not match an absent claim', r: { claim: 'org', equals: null }, claims: {}, match: false },
    { name: 'oneOf, listed value', r: { claim: 'role', oneOf: ['editor', 'admin'] }, claims: { role: 'admin' }, match: true },
    { name: 'oneOf, unlisted value', r: { claim: 'role', oneOf: ['editor', 'admin'] }, claims: { role: 'reader' }, match: false },
    { name: 'oneOf, an array claim is not one of the values', r: { claim: 'role', oneOf: ['editor'] }, claims: { role: ['editor'] }, match: false },
    { name: 'oneOf, claim absent', r: { claim: 'role', oneOf: ['editor'] }, claims: {}, match: false },
    { name: 'exists, present', r: { claim: 'beta', exists: true }, claims: { beta: false }, match: true },
    { name: 'exists, absent', r: { claim: 'beta', exists: true }, claims: {}, match: false },
    { name: 'exists: false, absent', r: { claim: 'beta', exists: false }, claims: {}, match: true },
    { name: 'exists: false, present', r: { claim: 'beta', exists: false }, claims: { beta: 1 }, match: false },
    { name: 'exists on constructor, not in the token', r: { claim: 'constructor', exists: true }, claims: { sub: 'x' }, match: false },
    { name: 'exists on toString, not in the token', r: { claim: 'toString', exists: true }, claims: { sub: 'x' }, match: false },
    { name: 'exists on __proto__, not in the token', r: { claim: '__proto__', exists: true }, claims: { sub: 'x' }, match: false },
    { name: 'exists: false on hasOwnProperty, not in the token', r: { claim: 'hasOwnProperty', exists: false }, claims: {}, match: true },
    { name: 'equals on an inherited name never reads the prototype', r: { claim: 'constructor', equals: 'x' }, claims: {}, match: false },
    { name: 'exists on constructor, in the token', r: { claim: 'constructor', exists: true }, claims: { constructor: 'x' }, match: true },
  ];
  it.each(cases)('$name → $match', ({ r, claims, match }) => {
    expect(ruleMatches({ ...r, plans: ['p'] }, claims)).toBe(match);
  });
});

describe('provisioning through a loaded config', () => {
  let signer: TestSigner;
  let runtime: Runtime;

  beforeAll(async () => {
    signer = await testSigner();
    runtime = await loadFixture('provisioning.yaml', { signer });
  });
  afterAll(async () => {
    await runtime?.close();
    await signer?.cleanup();
  });

  const plansFor = async (claims: Record<string, unknown>) => {
    const token = await signer.sign({ sub: 'user-1', ...claims });
    const outcome = await runtime.engine.decide({ surfaceSlug: 'page', identity: { userJwt: token }, trusted: false });
    return outcome.plans;
  };

  it.each([
    { name: 'no claims: only the automatic plan', claims: {}, plans: ['member'] },
    { name: 'equals matches', claims: { tier: 'gold' }, plans: ['member', 'gold'] },
    { name: 'equals does not match another value', claims: { tier: 'silver' }, plans: ['member'] },
    { name: 'equals does not match "1" for 1', claims: { level: '1' }, plans: ['member'] },
    { name: 'equals matches a number', claims: { level: 1 }, plans: ['member', 'level-one'] },
    { name: 'is one of matches', claims: { role: 'editor' }, plans: ['member', 'staff'] },
    { name: 'is one of does not match an unlisted value', claims: { role: 'reader' }, plans: ['member'] },
    { name: 'exists matches even a false claim', claims: { beta: false }, plans: ['member', 'beta'] },
    { name: 'all three together', claims: { tier: 'gold', role: 'admin', beta: 'yes' }, plans: ['member', 'gold', 'staff', 'beta'] },
  ])('$name', async ({ claims, plans }) => {
    expect(await plansFor(claims)).toEqual(plans);
  });

  it('exists on constructor or toString does not match a token lacking that claim', async () => {
    const outcome = await runtime.engine.decide({
      surfaceSlug: 'page',
      identity: { userJwt: await signer.sign({ sub: 'plain', tier: 'gold' }) },
      trusted: false,
    });
    expect(outcome.plans).toEqual(['member', 'gold']);
    expect(outcome.decision.features.access.properties.ctor).toEqual({ type: 'boolean', value: false, isFallback: true });
    expect(outcome.decision.features.access.properties.tostr).toEqual({ type: 'boolean', value: false, isFallback: true });
  });

  it('an unknown plan slug from a workflow is logged and counted; the rest is used', async () => {
    const before = runtime.engine.eventCounts().get('provisioning-unknown-plan') ?? 0;
    const outcome = await runtime.engine.decide({
      surfaceSlug: 'page',
      identity: { userJwt: await signer.sign({ sub: 'grantee', grant: ['no-such-plan', 'granted'] }) },
      trusted: false,
    });
    expect(outcome.plans).toEqual(['member', 'granted']);
    expect(outcome.decision.features.access.properties.granted).toEqual({ type: 'boolean', value: true, isFallback: false });
    expect(outcome.decision.customer.isCustomer).toBe(true);
    expect(runtime.engine.eventCounts().get('provisioning-unknown-plan')).toBe(before + 1);
  });

  it('a throwing provisioning workflow is logged and counted; the rules’ plans are still used', async () => {
    const before = runtime.engine.eventCounts().get('workflow-error') ?? 0;
    const outcome = await runtime.engine.decide({
      surfaceSlug: 'page',
      identity: { userJwt: await signer.sign({ sub: 'exploder', explode: true, tier: 'gold', grant: ['granted'] }) },
      trusted: false,
    });
    expect(outcome.decision.status).toBe('success');
    expect(outcome.plans).toEqual(['member', 'gold']);
    expect(runtime.engine.eventCounts().get('workflow-error')).toBe(before + 1);
  });

  it('a validly signed token with __proto__ and constructor claims gets a normal decision and leaves Object.prototype untouched', async () => {
    const protoKeys = Object.getOwnPropertyNames(Object.prototype);
    const payload =
      '{"sub":"hostile","__proto__":{"polluted":true,"tier":"gold"},"constructor":{"prototype":{"polluted":true}},' +
      '"toString":"not a function","role":{"__proto__":{"admin":true}},"deep":{"a":{"b":{"c":{"__proto__":{"polluted":1}}}}}}';
    const outcome = await runtime.engine.decide({ surfaceSlug: 'page', identity: { userJwt: await signer.signRaw(payload) }, trusted: false });

    const { decision } = outcome;
    expect(decision.status).toBe('success');
    expect(decision.degraded).toBeUndefined();
    expect(decision.identity).toMatchObject({ authType: 'jwt', identifier: 'hostile', isAuthenticated: true });
    // The claims as received: `__proto__` is an own key holding data, not the object's prototype.
    expect(Object.hasOwn(decision.identity.jwtClaims, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(decision.identity.jwtClaims)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(decision.identity.jwtClaims))).toEqual(JSON.parse(payload));
    // The token carries constructor and toString, so those exists-rules match; `tier` under __proto__ is not a claim.
    expect(outcome.plans).toEqual(['member', 'ctor', 'tostr']);
    expect(decision.surfaceBehavior.properties).toEqual({ subject: 'hostile', claimCount: 6, tier: null });

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).tier).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(typeof {}.toString).toBe('function');
    expect({}.constructor).toBe(Object);
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(protoKeys);
  });
});
