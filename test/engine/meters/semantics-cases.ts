// One table of meter-store cases, run against every store (memory.test.ts, redis.test.ts): the Lua
// script and semantics.ts + memory.ts must give the same answers. It covers every row of the meter
// table in docs/concepts.md "Meters" and is the meter-semantics acceptance of the engine issue.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_COUNTER_VALUE,
  type ConsumeResult,
  type ConsumeSpec,
  type CounterReading,
  type CounterSpec,
  type Grant,
  type MeterCall,
  type MeterCallResult,
  type MeterLimit,
  type MeterStore,
  type Period,
} from '../../../src/engine/meters/store.js';

/** Saturday 28 Nov 2026, noon UTC: mid-day, mid-week, mid-month. */
export const T0 = Date.UTC(2026, 10, 28, 12);
const DAY = 86_400_000;

export interface SemanticsStep {
  /** Milliseconds after T0 (default 0). */
  at?: number;
  counters: CounterSpec[];
  require?: MeterCall['require'];
  consume?: ConsumeSpec[];
  dryRun?: boolean;
  expect: { readings?: Record<string, CounterReading>; requirementMet?: boolean; consumed?: ConsumeResult[] };
}

export interface SemanticsCase {
  name: string;
  userType?: 'anonymous' | 'authenticated';
  steps: SemanticsStep[];
}

const meter = (limit: number, period: Period = 'month', extra: Partial<MeterLimit> = {}): MeterLimit => ({
  limit,
  period,
  uniqueResources: false,
  allowPartial: false,
  ...extra,
});
const counter = (counterId: string, periods: Period[] = ['month'], resourceHash?: string): CounterSpec =>
  resourceHash === undefined ? { counterId, periods } : { counterId, periods, resourceHash };
/** A reading of one period (`seen` false unless given). */
const read = (usage: Partial<Record<Period, number>>, seen: Partial<Record<Period, boolean>> = {}): CounterReading => ({
  usage,
  seen: Object.fromEntries(Object.keys(usage).map((p) => [p, seen[p as Period] ?? false])),
});
const ok = (units: number): ConsumeResult => ({ granted: true, units, excess: 0, free: false });
const free: ConsumeResult = { granted: true, units: 0, excess: 0, free: true };
const refused = (excess: number): ConsumeResult => ({ granted: false, units: 0, excess, free: false });

const consumeOne = (limit: number, expectUsed: number, result: ConsumeResult, extra: Partial<MeterLimit> = {}, hash?: string): SemanticsStep => ({
  counters: [counter('c', ['month'], hash)],
  consume: [{ counterId: 'c', units: 1, meter: meter(limit, 'month', extra) }],
  expect: { readings: { c: read({ month: expectUsed }) }, requirementMet: true, consumed: [result] },
});

export const SEMANTICS_CASES: SemanticsCase[] = [
  {
    name: 'off / on: incrementCounter records without a limit; reads report the usage',
    steps: [
      { counters: [counter('c')], consume: [{ counterId: 'c', units: 1, meter: null }], expect: { readings: { c: read({ month: 0 }) }, consumed: [ok(1)] } },
      { counters: [counter('c')], consume: [{ counterId: 'c', units: 2, meter: null }], expect: { readings: { c: read({ month: 1 }) }, consumed: [ok(2)] } },
      { counters: [counter('c')], expect: { readings: { c: read({ month: 3 }) }, requirementMet: true, consumed: [] } },
    ],
  },
  {
    name: 'metered, read only: reading records nothing',
    steps: [
      { counters: [counter('c', ['day', 'month'])], expect: { readings: { c: read({ day: 0, month: 0 }) }, consumed: [] } },
      { counters: [counter('c', ['day', 'month'])], expect: { readings: { c: read({ day: 0, month: 0 }) }, consumed: [] } },
    ],
  },
  {
    name: 'consume succeeds up to the limit, then fails and records nothing',
    steps: [consumeOne(2, 0, ok(1)), consumeOne(2, 1, ok(1)), consumeOne(2, 2, refused(1)), consumeOne(2, 2, refused(1))],
  },
  {
    name: 'consume of more units than remain fails whole',
    steps: [
      consumeOne(3, 0, ok(1)),
      {
        counters: [counter('c')],
        consume: [{ counterId: 'c', units: 3, meter: meter(3) }],
        expect: { readings: { c: read({ month: 1 }) }, consumed: [refused(3)] },
      },
      consumeOne(3, 1, ok(1)),
    ],
  },
  {
    name: 'all or nothing across two counters: one refused, neither recorded',
    steps: [
      consumeOne(1, 0, ok(1)),
      {
        counters: [counter('a'), counter('c')],
        consume: [
          { counterId: 'a', units: 1, meter: meter(5) },
          { counterId: 'c', units: 1, meter: meter(1) },
        ],
        expect: { readings: { a: read({ month: 0 }), c: read({ month: 1 }) }, requirementMet: true, consumed: [refused(1), refused(1)] },
      },
      { counters: [counter('a'), counter('c')], expect: { readings: { a: read({ month: 0 }), c: read({ month: 1 }) } } },
    ],
  },
  {
    name: 'uniqueResources: a resource already counted this period is free, also at the limit; a new one is refused',
    steps: [
      consumeOne(1, 0, ok(1), { uniqueResources: true }, 'r1'),
      { ...consumeOne(1, 1, free, { uniqueResources: true }, 'r1'), expect: { readings: { c: read({ month: 1 }, { month: true }) }, consumed: [free] } },
      consumeOne(1, 1, refused(1), { uniqueResources: true }, 'r2'),
      {
        counters: [counter('c', ['month'], 'r1')],
        require: [{ counterId: 'c', limit: 1, period: 'month', uniqueResources: true }],
        expect: { readings: { c: read({ month: 1 }, { month: true }) }, requirementMet: true },
      },
    ],
  },
  {
    name: 'uniqueResources without a resource id counts every consumption',
    steps: [
      consumeOne(2, 0, ok(1), { uniqueResources: true }),
      consumeOne(2, 1, ok(1), { uniqueResources: true }),
      consumeOne(2, 2, refused(1), { uniqueResources: true }),
    ],
  },
  {
    name: 'allowPartialConsumption grants what remains, then refuses',
    steps: [
      consumeOne(3, 0, ok(1)),
      {
        counters: [counter('c')],
        consume: [{ counterId: 'c', units: 5, meter: meter(3, 'month', { allowPartial: true }) }],
        expect: { readings: { c: read({ month: 1 }) }, consumed: [{ granted: true, units: 2, excess: 3, free: false }] },
      },
      consumeOne(3, 3, refused(1), { allowPartial: true }),
    ],
  },
  {
    name: 'dryRun reports the consumption as granted and records nothing',
    steps: [{ ...consumeOne(1, 0, ok(1)), dryRun: true }, { ...consumeOne(1, 0, ok(1)), dryRun: true }, consumeOne(1, 0, ok(1))],
  },
  {
    name: 'a counter shared by plans with different periods increments every bucket; access is judged on the meter period',
    steps: [
      {
        counters: [counter('c', ['day', 'month'])],
        consume: [{ counterId: 'c', units: 1, meter: meter(1, 'day') }],
        expect: { readings: { c: read({ day: 0, month: 0 }) }, consumed: [ok(1)] },
      },
      {
        counters: [counter('c', ['day', 'month'])],
        consume: [{ counterId: 'c', units: 1, meter: meter(1, 'day') }],
        expect: { readings: { c: read({ day: 1, month: 1 }) }, consumed: [refused(1)] },
      },
      {
        at: DAY,
        counters: [counter('c', ['day', 'month'])],
        consume: [{ counterId: 'c', units: 1, meter: meter(1, 'day') }],
        expect: { readings: { c: read({ day: 0, month: 1 }) }, consumed: [ok(1)] },
      },
      { at: DAY, counters: [counter('c', ['day', 'month'])], expect: { readings: { c: read({ day: 1, month: 2 }) } } },
    ],
  },
  {
    name: 'a failing requirement consumes nothing; a passing one lets the consumption through',
    steps: [
      consumeOne(1, 0, ok(1)),
      {
        counters: [counter('c'), counter('b')],
        require: [{ counterId: 'c', limit: 1, period: 'month', uniqueResources: false }],
        consume: [{ counterId: 'b', units: 1, meter: meter(5) }],
        expect: { readings: { c: read({ month: 1 }), b: read({ month: 0 }) }, requirementMet: false, consumed: [refused(1)] },
      },
      {
        counters: [counter('c'), counter('b')],
        require: [{ counterId: 'c', limit: 2, period: 'month', uniqueResources: false }],
        consume: [{ counterId: 'b', units: 1, meter: meter(5) }],
        expect: { readings: { c: read({ month: 1 }), b: read({ month: 0 }) }, requirementMet: true, consumed: [ok(1)] },
      },
    ],
  },
  {
    name: 'counter updates: a decrement never goes below 0; incrementCounter records past the limit',
    steps: [
      { counters: [counter('c', ['lifetime', 'month'])], consume: [{ counterId: 'c', units: 2, meter: null }], expect: { consumed: [ok(2)] } },
      {
        counters: [counter('c', ['lifetime', 'month'])],
        consume: [{ counterId: 'c', units: -5, meter: null }],
        expect: { readings: { c: read({ lifetime: 2, month: 2 }) }, consumed: [{ granted: true, units: -5, excess: 0, free: false }] },
      },
      {
        counters: [counter('c', ['lifetime', 'month'])],
        consume: [{ counterId: 'c', units: 4, meter: null }],
        expect: { readings: { c: read({ lifetime: 0, month: 0 }) } },
      },
      { counters: [counter('c', ['lifetime', 'month'])], expect: { readings: { c: read({ lifetime: 4, month: 4 }) } } },
    ],
  },
  {
    name: `a count saturates at MAX_COUNTER_VALUE (${MAX_COUNTER_VALUE}) and still counts down from there`,
    userType: 'authenticated',
    steps: [
      {
        counters: [counter('c', ['lifetime'])],
        consume: [{ counterId: 'c', units: Number.MAX_SAFE_INTEGER, meter: null }],
        expect: { consumed: [ok(Number.MAX_SAFE_INTEGER)] },
      },
      {
        counters: [counter('c', ['lifetime'])],
        consume: [{ counterId: 'c', units: Number.MAX_SAFE_INTEGER, meter: null }],
        expect: { readings: { c: read({ lifetime: MAX_COUNTER_VALUE }) } },
      },
      {
        counters: [counter('c', ['lifetime'])],
        consume: [{ counterId: 'c', units: -1, meter: null }],
        expect: { readings: { c: read({ lifetime: MAX_COUNTER_VALUE }) } },
      },
      { counters: [counter('c', ['lifetime'])], expect: { readings: { c: read({ lifetime: MAX_COUNTER_VALUE - 1 }) } } },
    ],
  },
  {
    name: 'incrementCounter on a metered counter records even past the limit',
    steps: [
      consumeOne(1, 0, ok(1)),
      { counters: [counter('c')], consume: [{ counterId: 'c', units: 1, meter: null }], expect: { readings: { c: read({ month: 1 }) }, consumed: [ok(1)] } },
      consumeOne(1, 2, refused(1)),
    ],
  },
  {
    name: 'two consumptions of one counter in one call are judged on the usage before the call and recorded one after the other',
    steps: [
      {
        counters: [counter('c', ['lifetime', 'month'])],
        consume: [
          { counterId: 'c', units: 2, meter: null },
          { counterId: 'c', units: 3, meter: meter(4) },
        ],
        expect: { readings: { c: read({ lifetime: 0, month: 0 }) }, consumed: [ok(2), ok(3)] },
      },
      {
        counters: [counter('c', ['lifetime', 'month'])],
        consume: [
          { counterId: 'c', units: -9, meter: null },
          { counterId: 'c', units: 1, meter: null },
        ],
        expect: { readings: { c: read({ lifetime: 5, month: 5 }) }, consumed: [{ granted: true, units: -9, excess: 0, free: false }, ok(1)] },
      },
      { counters: [counter('c', ['lifetime', 'month'])], expect: { readings: { c: read({ lifetime: 1, month: 1 }) } } },
    ],
  },
  {
    name: 'a requirement or a meter on a counter or period the call does not read sees no usage',
    steps: [
      {
        counters: [counter('c')],
        require: [{ counterId: 'absent', period: 'month', limit: 1, uniqueResources: true }],
        consume: [{ counterId: 'c', units: 1, meter: meter(1, 'day') }],
        expect: { readings: { c: read({ month: 0 }) }, requirementMet: true, consumed: [ok(1)] },
      },
      {
        counters: [counter('c')],
        require: [{ counterId: 'c', period: 'day', limit: 1, uniqueResources: false }],
        consume: [{ counterId: 'c', units: 1, meter: meter(1, 'day') }],
        expect: { readings: { c: read({ month: 1 }) }, requirementMet: true, consumed: [ok(1)] },
      },
      {
        counters: [counter('c')],
        require: [{ counterId: 'absent', period: 'month', limit: 0, uniqueResources: false }],
        consume: [{ counterId: 'c', units: 1, meter: null }],
        expect: { readings: { c: read({ month: 2 }) }, requirementMet: false, consumed: [refused(1)] },
      },
    ],
  },
  {
    name: 'a uniqueResources requirement passes at its limit for a resource already counted, and only then',
    steps: [
      consumeOne(1, 0, ok(1), { uniqueResources: true }, 'h1'),
      {
        counters: [counter('c', ['month'], 'h1'), counter('b', ['day', 'month'])],
        require: [{ counterId: 'c', period: 'month', limit: 1, uniqueResources: true }],
        consume: [{ counterId: 'b', units: 1, meter: meter(5) }],
        expect: { readings: { c: read({ month: 1 }, { month: true }), b: read({ day: 0, month: 0 }) }, requirementMet: true, consumed: [ok(1)] },
      },
      {
        counters: [counter('c', ['month'], 'h2'), counter('b', ['day', 'month'])],
        require: [{ counterId: 'c', period: 'month', limit: 1, uniqueResources: true }],
        consume: [{ counterId: 'b', units: 1, meter: meter(5) }],
        expect: { readings: { c: read({ month: 1 }), b: read({ day: 1, month: 1 }) }, requirementMet: false, consumed: [refused(1)] },
      },
    ],
  },
  {
    name: 'the last millisecond of a month and the first of the next are different buckets',
    userType: 'authenticated',
    steps: [
      { at: Date.UTC(2026, 10, 30, 23, 59, 59, 999) - T0, ...consumeOne(1, 0, ok(1)) },
      { at: Date.UTC(2026, 11, 1) - T0, ...consumeOne(1, 0, ok(1)) },
      { at: Date.UTC(2026, 11, 1) - T0, ...consumeOne(1, 1, refused(1)) },
    ],
  },
];

/** Registers the table as tests against the store `getStore` returns (each case uses a fresh visitor). */
export function describeSemantics(label: string, getStore: () => MeterStore, cases: SemanticsCase[] = SEMANTICS_CASES): void {
  describe(`the new-id budget on ${label}`, () => {
    it('counts per network and in all, refuses without counting, and starts again with the next window', async () => {
      const store = getStore();
      const hour = 3_600_000;
      // The stores count under the run's key prefix (Redis) or in memory: this window is the test's own.
      const start = Math.floor(Date.now() / hour) * hour;
      const ask = (networkId: string, at = 0) => store.allowNewId({ networkId, now: start + at, perNetwork: 2, total: 3, windowMs: hour });
      const a = `net-a-${randomUUID()}`;
      const b = `net-b-${randomUUID()}`;
      const c = `net-c-${randomUUID()}`;
      expect([await ask(a), await ask(a), await ask(a)]).toEqual([true, true, false]);
      // The total (3) is spent after one more, whichever network asks; refusals count nothing.
      expect([await ask(b), await ask(b), await ask(c)]).toEqual([true, false, false]);
      expect([await ask(a, hour), await ask(c, hour)]).toEqual([true, true]);
    });
  });

  describe(`grants in the store call on ${label}`, () => {
    it('returns the unexpired grants, refuses and records nothing when they are not the assumed ones, and removes expired ones unless dry', async () => {
      const store = getStore();
      const visitor = { userType: 'authenticated', identifier: `grants-${randomUUID()}` } as const;
      const grant = (plan: string, expiresAt: number | null): Grant => ({ plan, expiresAt, grantedAt: T0 - DAY, by: 'test' });
      await store.admin.putGrant(visitor, grant('b-plan', null));
      await store.admin.putGrant(visitor, grant('a-plan', T0 + 1));
      await store.admin.putGrant(visitor, grant('old', T0));
      const run = (grants: string[], dryRun: boolean, now = T0) =>
        store.run({ visitor, now, counters: [counter('c')], consume: [{ counterId: 'c', units: 1, meter: meter(5) }], dryRun, grants });
      const stored = async () => (await store.admin.grants(visitor)).map((g) => g.plan).sort();
      const byPlan = (grants: Grant[] | undefined) => [...(grants ?? [])].sort((x, y) => x.plan.localeCompare(y.plan));

      let result = await run(['a-plan', 'b-plan'], true);
      expect(result.grantsChanged).toBe(false);
      expect(byPlan(result.grants)).toEqual([grant('a-plan', T0 + 1), grant('b-plan', null)]);
      expect(result.consumed).toEqual([ok(1)]);
      expect(await stored()).toEqual(['a-plan', 'b-plan', 'old']);

      for (const assumed of [['b-plan'], ['b-plan', 'a-plan'], ['a-plan', 'b-plan', 'old'], []]) {
        result = await run(assumed, false);
        expect(result.grantsChanged, assumed.join()).toBe(true);
        expect(result.requirementMet).toBe(false);
        expect(result.consumed).toEqual([refused(1)]);
        expect(byPlan(result.grants)).toEqual([grant('a-plan', T0 + 1), grant('b-plan', null)]);
      }
      expect(await stored()).toEqual(['a-plan', 'b-plan']);

      result = await run(['a-plan', 'b-plan'], false);
      expect(result).toMatchObject({ grantsChanged: false, requirementMet: true, consumed: [ok(1)], readings: { c: read({ month: 0 }) } });
      result = await run(['b-plan'], true, T0 + 1);
      expect(result).toMatchObject({ grantsChanged: false, grants: [grant('b-plan', null)], consumed: [ok(1)], readings: { c: read({ month: 1 }) } });
      expect(await stored()).toEqual(['a-plan', 'b-plan']);

      const nobody = { userType: 'anonymous', identifier: `grants-${randomUUID()}` } as const;
      const none = await store.run({ visitor: nobody, now: T0, counters: [], consume: [], dryRun: false, grants: [] });
      expect(none).toEqual({ readings: {}, requirementMet: true, consumed: [], grants: [], grantsChanged: false });
      const assumedNone = await store.run({ visitor: nobody, now: T0, counters: [], consume: [], dryRun: false, grants: ['gone'] });
      expect(assumedNone).toMatchObject({ requirementMet: false, grants: [], grantsChanged: true });
    });
  });

  describe(`meter semantics on ${label}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const store = getStore();
        const visitor = { userType: c.userType ?? 'anonymous', identifier: `semantics-${randomUUID()}` } as const;
        for (const [i, step] of c.steps.entries()) {
          const call: MeterCall = {
            visitor,
            now: T0 + (step.at ?? 0),
            counters: step.counters,
            require: step.require,
            consume: step.consume ?? [],
            dryRun: step.dryRun ?? false,
          };
          const result: MeterCallResult = await store.run(call);
          const { readings, requirementMet, consumed } = step.expect;
          if (readings !== undefined) expect(result.readings, `step ${i + 1} readings`).toEqual(readings);
          if (requirementMet !== undefined) expect(result.requirementMet, `step ${i + 1} requirementMet`).toBe(requirementMet);
          if (consumed !== undefined) expect(result.consumed, `step ${i + 1} consumed`).toEqual(consumed);
        }
      });
    }
  });
}
