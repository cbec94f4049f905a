// Conflict resolution (docs/concepts.md "Plans and how stacked plans resolve"): every ordering rule under `highest` and `lowest`, unit-level
// on compareValues/resolveProperty, then end to end through a loaded config where two plans stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompiledPlan, PlanValue } from '../../src/engine/model.js';
import type { Period } from '../../src/engine/meters/store.js';
import { compareValues, resolveProperty } from '../../src/engine/plans.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { loadFixture } from '../fixtures/engine/harness.js';

const off: PlanValue = { kind: 'off' };
const on: PlanValue = { kind: 'on' };
const meter = (limit: number, period: Period, uniqueResources = false): PlanValue => ({ kind: 'metered', limit, period, uniqueResources, allowPartial: false });
const scalar = (value: boolean | number | string | null): PlanValue => ({ kind: 'scalar', value });

/** Each row: `higher` ranks above `lower` (so `highest` picks `higher`, `lowest` picks `lower`), whatever their plan order. */
const ORDERINGS: { rule: string; higher: PlanValue; lower: PlanValue }[] = [
  { rule: 'metered beats off', higher: meter(1, 'lifetime'), lower: off },
  { rule: 'on beats metered', higher: on, lower: meter(1000, 'day', true) },
  { rule: 'on beats off', higher: on, lower: off },
  { rule: 'a larger limit beats a shorter period', higher: meter(4, 'lifetime'), lower: meter(3, 'day') },
  { rule: 'a larger limit beats uniqueResources', higher: meter(4, 'month'), lower: meter(3, 'month', true) },
  { rule: 'equal limits: day beats week', higher: meter(3, 'day'), lower: meter(3, 'week') },
  { rule: 'equal limits: week beats month', higher: meter(3, 'week'), lower: meter(3, 'month') },
  { rule: 'equal limits: month beats year', higher: meter(3, 'month'), lower: meter(3, 'year') },
  { rule: 'equal limits: year beats lifetime', higher: meter(3, 'year'), lower: meter(3, 'lifetime') },
  { rule: 'equal limits: 3/day beats 3/month (the spec example)', higher: meter(3, 'day'), lower: meter(3, 'month') },
  { rule: 'a shorter period beats uniqueResources', higher: meter(3, 'day'), lower: meter(3, 'month', true) },
  { rule: 'equal limit and period: uniqueResources wins', higher: meter(3, 'month', true), lower: meter(3, 'month') },
  { rule: 'booleans: true beats false', higher: scalar(true), lower: scalar(false) },
  { rule: 'numbers compare numerically, not as text', higher: scalar(10), lower: scalar(9) },
  { rule: 'numbers: negatives and fractions', higher: scalar(-1.5), lower: scalar(-2) },
];

function plan(slug: string, index: number, value: PlanValue): CompiledPlan {
  return { slug, name: slug, index, assign: 'none', values: new Map([['f.p', value]]) };
}

describe('compareValues', () => {
  it.each(ORDERINGS)('$rule', ({ higher, lower }) => {
    expect(compareValues(higher, lower)).toBeGreaterThan(0);
    expect(compareValues(lower, higher)).toBeLessThan(0);
    expect(compareValues(higher, higher)).toBe(0);
  });

  it('ranks periods by length: day < week < month < year < lifetime', () => {
    const byRank = (['lifetime', 'year', 'day', 'month', 'week'] as Period[]).sort((a, b) => compareValues(meter(3, b), meter(3, a)));
    expect(byRank).toEqual(['day', 'week', 'month', 'year', 'lifetime']);
  });

  it('never ranks strings against each other (declaration order decides)', () => {
    expect(compareValues(scalar('zeta'), scalar('alpha'))).toBe(0);
  });
});

describe('resolveProperty', () => {
  describe.each(ORDERINGS)('$rule', ({ higher, lower }) => {
    for (const [name, first, second] of [
      ['higher declared first', higher, lower],
      ['higher declared last', lower, higher],
    ] as const) {
      it(`${name}: highest takes the higher, lowest the lower`, () => {
        const plans = [plan('a', 0, first), plan('b', 1, second)];
        expect(resolveProperty('f.p', plans, 'highest')?.value).toEqual(higher);
        expect(resolveProperty('f.p', plans, 'lowest')?.value).toEqual(lower);
      });
    }
  });

  it('strings: the plan declared later wins under highest, the earlier under lowest', () => {
    const plans = [plan('first', 0, scalar('zeta')), plan('middle', 1, scalar('alpha')), plan('last', 2, scalar('mu'))];
    expect(resolveProperty('f.p', plans, 'highest')).toEqual({ value: scalar('mu'), plan: 'last' });
    expect(resolveProperty('f.p', plans, 'lowest')).toEqual({ value: scalar('zeta'), plan: 'first' });
  });

  it('names the plan that set the winning value and skips plans that do not set the property', () => {
    const silent: CompiledPlan = { slug: 'silent', name: 'silent', index: 1, assign: 'none', values: new Map() };
    const plans = [plan('a', 0, meter(3, 'month')), silent, plan('c', 2, on)];
    expect(resolveProperty('f.p', plans, 'highest')).toEqual({ value: on, plan: 'c' });
    expect(resolveProperty('f.p', plans, 'lowest')).toEqual({ value: meter(3, 'month'), plan: 'a' });
    expect(resolveProperty('f.p', [silent], 'highest')).toBeUndefined();
  });
});

describe('two stacked plans, end to end through a loaded config', () => {
  let runtime: Runtime;
  // Mid-month, so day and month period starts differ.
  const now = Date.UTC(2026, 4, 14, 15, 30);
  const dayStart = 'Thu, 14 May 2026 00:00:00 GMT';
  const monthStart = 'Fri, 01 May 2026 00:00:00 GMT';

  beforeAll(async () => {
    runtime = await loadFixture('plans.yaml');
  });
  afterAll(() => runtime.close());

  it('resolves every property by its own conflict rule', async () => {
    const { decision, plans } = await runtime.engine.decide({ surfaceSlug: 'page', identity: { anonymousIdentifier: 'stacked-visitor' }, trusted: false, now });
    expect(plans).toEqual(['base', 'bonus']);
    const p = decision.features.perks.properties;
    const metered = (totalUnits: number, periodStart: string) => ({
      hasAccess: true,
      consumedUnits: 0,
      remainingUnits: totalUnits,
      totalUnits,
      periodStart,
      uniqueResources: false,
      isFallback: false,
    });
    const bare = (hasAccess: boolean) => ({ type: 'meterable', counterId: expect.any(String), hasAccess, isFallback: false });

    // off < metered
    expect(p.gate).toMatchObject(metered(3, monthStart));
    expect(p['gate-low']).toEqual(bare(false));
    // equal limits: the shorter period ranks higher
    expect(p.reads).toMatchObject(metered(3, dayStart));
    expect(p['reads-low']).toMatchObject(metered(3, monthStart));
    // metered < on
    expect(p.views).toEqual(bare(true));
    expect(p['views-low']).toMatchObject(metered(5, dayStart));
    // booleans, numbers (numeric: 10 > 9), strings (declaration order)
    expect(p.flag).toEqual({ type: 'boolean', value: true, isFallback: false });
    expect(p['flag-low']).toEqual({ type: 'boolean', value: false, isFallback: false });
    expect(p.num).toEqual({ type: 'number', value: 10, isFallback: false });
    expect(p['num-low']).toEqual({ type: 'number', value: 9, isFallback: false });
    expect(p.label).toEqual({ type: 'string', value: 'bonus', isFallback: false });
    expect(p['label-low']).toEqual({ type: 'string', value: 'base', isFallback: false });
  });

  it('without the second plan, each property carries the first plan’s value', async () => {
    // An authenticated visitor gets no automatic plan here, only `bonus` from the rule.
    const { decision, plans } = await runtime.engine.decide({ surfaceSlug: 'page', identity: { userIdentifier: 'someone' }, trusted: true, now });
    expect(plans).toEqual(['bonus']);
    const p = decision.features.perks.properties;
    expect(p['label-low']).toEqual({ type: 'string', value: 'bonus', isFallback: false });
    expect(p['num-low']).toEqual({ type: 'number', value: 9, isFallback: false });
    expect(p['gate-low']).toMatchObject({ totalUnits: 3, periodStart: monthStart });
  });
});
