// The meter script's input (src/engine/meters/redis.ts scriptInput) is built by hand, in one pass, for
// speed. It must be exactly the documented positional layout (redis-script.ts): a reference built the
// plain way, field by field from the layout and through JSON.stringify, is compared string for string.
import { describe, expect, it } from 'vitest';
import { bucketKey, bucketTtlMs, grantsKey, resourceSetKey, visitorTag } from '../../../src/engine/meters/redis-keys.js';
import { scriptInput } from '../../../src/engine/meters/redis.js';
import type { MeterCall, Period } from '../../../src/engine/meters/store.js';

function reference(call: MeterCall, prefix: string, retentionDays: number) {
  const tag = visitorTag(call.visitor);
  const keys: string[] = [];
  // Every bucket (a counter's period) in call order, numbered from 1.
  const buckets: { counterId: string; period: Period; fields: number[] }[] = [];
  // ARGV[1] is the numbers; the assumed plans follow, then each counter's resource hash.
  const strings = [...(call.grants ?? [])];
  const firstBucket = new Map<string, number>();
  for (const spec of call.counters) {
    if (!firstBucket.has(spec.counterId)) firstBucket.set(spec.counterId, buckets.length + 1);
    if (spec.resourceHash !== undefined) strings.push(spec.resourceHash);
    for (const period of spec.periods) {
      const countKey = bucketKey(prefix, tag, spec.counterId, period, call.now);
      keys.push(countKey);
      const countIndex = keys.length;
      let setIndex = 0;
      if (spec.resourceHash !== undefined) {
        keys.push(resourceSetKey(countKey));
        setIndex = keys.length;
      }
      const ttl = bucketTtlMs(period, call.now, call.visitor.userType, retentionDays);
      buckets.push({ counterId: spec.counterId, period, fields: [countIndex, setIndex, ttl, spec.resourceHash === undefined ? 0 : strings.length + 1] });
    }
  }
  if (call.grants !== undefined) keys.push(grantsKey(prefix, tag));
  const bucketOf = (counterId: string, period: Period): number => {
    const first = firstBucket.get(counterId);
    if (first === undefined) return 0;
    const spec = call.counters.find((s) => s.counterId === counterId)!;
    const at = spec.periods.indexOf(period);
    return at < 0 ? 0 : first + at;
  };
  const flag = (value: boolean) => (value ? 1 : 0);
  const numbers = [
    buckets.length,
    call.require?.length ?? 0,
    call.consume.length,
    flag(call.dryRun),
    call.grants === undefined ? -1 : call.grants.length,
    call.now,
    ...buckets.flatMap((b) => b.fields),
    ...(call.require ?? []).flatMap((r) => [bucketOf(r.counterId, r.period), r.limit, flag(r.uniqueResources)]),
    ...call.consume.flatMap((k) => {
      const spec = call.counters.find((s) => s.counterId === k.counterId)!;
      const head = [firstBucket.get(k.counterId)!, spec.periods.length, k.units];
      const m = k.meter;
      return m === null ? [...head, -1, 0, 0, 0] : [...head, bucketOf(k.counterId, m.period), m.limit, flag(m.uniqueResources), flag(m.allowPartial)];
    }),
  ];
  return { keys, argv: [JSON.stringify(numbers), ...strings] };
}

const now = Date.UTC(2026, 10, 28, 3, 40);
const calls: MeterCall[] = [
  {
    visitor: { userType: 'authenticated', identifier: 'reader@example.com' },
    now,
    counters: [{ counterId: 'default:feat_article.enabled', periods: ['month'] }],
    consume: [{ counterId: 'default:feat_article.enabled', units: 1, meter: { period: 'month', limit: 1e12, uniqueResources: false, allowPartial: false } }],
    dryRun: false,
    grants: [],
  },
  {
    visitor: { userType: 'anonymous', identifier: '3f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b' },
    now,
    counters: [
      { counterId: 'a', periods: ['day', 'month', 'lifetime'], resourceHash: 'AbC-_123456789012345678' },
      { counterId: 'b', periods: ['week', 'year'] },
      { counterId: 'c', periods: ['lifetime'], resourceHash: 'Zz9' },
    ],
    require: [
      { counterId: 'a', period: 'month', limit: 3, uniqueResources: true },
      { counterId: 'missing', period: 'day', limit: 1, uniqueResources: false },
      { counterId: 'b', period: 'month', limit: 0, uniqueResources: false },
    ],
    consume: [
      { counterId: 'a', units: 1, meter: { period: 'lifetime', limit: 10, uniqueResources: true, allowPartial: true } },
      { counterId: 'b', units: -2, meter: null },
      { counterId: 'c', units: 3, meter: { period: 'lifetime', limit: 2.5, uniqueResources: false, allowPartial: true } },
      { counterId: 'b', units: 1, meter: { period: 'day', limit: 4, uniqueResources: false, allowPartial: false } },
    ],
    dryRun: true,
    grants: ['gift', 'premium'],
  },
  { visitor: { userType: 'anonymous', identifier: 'x' }, now, counters: [], consume: [], dryRun: false },
];

describe('scriptInput', () => {
  it('writes the same keys and flat arguments as the documented layout built field by field', () => {
    for (const call of calls) {
      const got = scriptInput(call, 'plangate:', 400);
      expect({ keys: got.keys, argv: got.argv }).toEqual(reference(call, 'plangate:', 400));
    }
  });

  it('lays out the typical call as documented', () => {
    const got = scriptInput(calls[0], 'plangate:', 400);
    const ttl = String(bucketTtlMs('month', now, 'authenticated', 400));
    expect(got.argv).toEqual([`[1,0,1,0,0,${now},1,0,${ttl},0,1,1,1,1,1000000000000,0,0]`]);
    expect(got.keys).toHaveLength(2);
    expect(got.keys[1]).toMatch(/:grants$/);
  });

  it('refuses units that are not an integer and a consumption of a counter it does not read', () => {
    const base = calls[0];
    expect(() => scriptInput({ ...base, consume: [{ ...base.consume[0], units: 1.5 }] }, 'p:', 400)).toThrow(/must be an integer/);
    expect(() => scriptInput({ ...base, consume: [{ ...base.consume[0], counterId: 'other' }] }, 'p:', 400)).toThrow(/consumed but not read/);
  });
});
