// The meter script's input (src/engine/meters/redis.ts scriptInput) writes its JSON argument by hand
// for speed. It must be exactly what JSON.stringify gives for the documented layout
// (redis-script.ts): a reference built the plain way is compared string for string.
import { describe, expect, it } from 'vitest';
import { bucketKey, bucketTtlMs, resourceSetKey, visitorTag } from '../../../src/engine/meters/redis-keys.js';
import { scriptInput } from '../../../src/engine/meters/redis.js';
import type { MeterCall, Period } from '../../../src/engine/meters/store.js';

function reference(call: MeterCall, prefix: string, retentionDays: number) {
  const tag = visitorTag(call.visitor);
  const keys: string[] = [];
  const c = call.counters.map((spec) => {
    const b = spec.periods.map((period) => {
      const countKey = bucketKey(prefix, tag, spec.counterId, period, call.now);
      keys.push(countKey);
      const countIndex = keys.length;
      let setIndex = 0;
      if (spec.resourceHash !== undefined) {
        keys.push(resourceSetKey(countKey));
        setIndex = keys.length;
      }
      return [countIndex, setIndex, bucketTtlMs(period, call.now, call.visitor.userType, retentionDays)];
    });
    return spec.resourceHash === undefined ? { b } : { b, r: spec.resourceHash };
  });
  const index = (counterId: string, period: Period): [number, number] => {
    const ci = call.counters.findIndex((s) => s.counterId === counterId) + 1;
    return [ci, ci === 0 ? 0 : call.counters[ci - 1].periods.indexOf(period) + 1];
  };
  const q = (call.require ?? []).map((r) => {
    const [ci, pi] = index(r.counterId, r.period);
    return { c: ci, p: pi, l: r.limit, u: r.uniqueResources };
  });
  const k = call.consume.map((item) => {
    const [ci, pi] = index(item.counterId, item.meter?.period ?? 'lifetime');
    const m = item.meter === null ? undefined : { p: pi, l: item.meter.limit, u: item.meter.uniqueResources, a: item.meter.allowPartial };
    return m === undefined ? { c: ci, n: item.units } : { c: ci, n: item.units, m };
  });
  return { keys, argv: JSON.stringify({ c, q, k, d: call.dryRun }) };
}

const now = Date.UTC(2026, 10, 28, 3, 40);
const calls: MeterCall[] = [
  {
    visitor: { userType: 'authenticated', identifier: 'reader@example.com' },
    now,
    counters: [{ counterId: 'default:feat_article.enabled', periods: ['month'] }],
    consume: [{ counterId: 'default:feat_article.enabled', units: 1, meter: { period: 'month', limit: 1e12, uniqueResources: false, allowPartial: false } }],
    dryRun: false,
  },
  {
    visitor: { userType: 'anonymous', identifier: '3f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b' },
    now,
    counters: [
      { counterId: 'a', periods: ['day', 'month', 'lifetime'], resourceHash: 'AbC-_123456789012345678' },
      { counterId: 'b', periods: ['week', 'year'] },
    ],
    require: [
      { counterId: 'a', period: 'month', limit: 3, uniqueResources: true },
      { counterId: 'missing', period: 'day', limit: 1, uniqueResources: false },
    ],
    consume: [
      { counterId: 'a', units: 1, meter: { period: 'lifetime', limit: 10, uniqueResources: true, allowPartial: true } },
      { counterId: 'b', units: -2, meter: null },
    ],
    dryRun: true,
  },
  { visitor: { userType: 'anonymous', identifier: 'x' }, now, counters: [], consume: [], dryRun: false },
];

describe('scriptInput', () => {
  it('writes the same keys and JSON argument as JSON.stringify of the documented layout', () => {
    for (const call of calls) {
      const got = scriptInput(call, 'plangate:', 400);
      expect({ keys: got.keys, argv: got.argv }).toEqual(reference(call, 'plangate:', 400));
    }
  });
});
