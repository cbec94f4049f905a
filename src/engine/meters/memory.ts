// In-memory meter store: per process, bounded by an LRU over visitors. The embedded default when no
// Redis is configured; consistent within one process only.
import { LRUCache } from 'lru-cache';
import { evaluateCall } from './semantics.js';
import { periodStart } from './periods.js';
import {
  MAX_COUNTER_VALUE,
  newIdWindow,
  type CounterReading,
  type MeterCall,
  type MeterCallResult,
  type MeterStore,
  type NewIdRequest,
  type Period,
} from './store.js';

interface Bucket {
  start: number;
  count: number;
  resources: Set<string>;
}
type VisitorCounters = Map<string, Map<Period, Bucket>>;

export class MemoryMeterStore implements MeterStore {
  readonly kind = 'memory' as const;
  private readonly visitors: LRUCache<string, VisitorCounters>;
  /** New ids per network in the current window (bounded like the visitors), and the window's total. */
  private readonly newIds: LRUCache<string, number>;
  private newIdTotal = { window: 0, count: 0 };

  constructor(options: { maxVisitors?: number } = {}) {
    this.visitors = new LRUCache({ max: options.maxVisitors ?? 100_000 });
    this.newIds = new LRUCache({ max: options.maxVisitors ?? 100_000 });
  }

  async allowNewId(request: NewIdRequest): Promise<boolean> {
    const window = newIdWindow(request.now, request.windowMs);
    if (this.newIdTotal.window !== window) this.newIdTotal = { window, count: 0 };
    const key = `${window}:${request.networkId}`;
    const count = this.newIds.get(key) ?? 0;
    if (count >= request.perNetwork || this.newIdTotal.count >= request.total) return false;
    this.newIds.set(key, count + 1);
    this.newIdTotal.count++;
    return true;
  }

  async run(call: MeterCall): Promise<MeterCallResult> {
    const visitorKey = `${call.visitor.userType}:${call.visitor.identifier}`;
    let counters = this.visitors.get(visitorKey);
    const readings: Record<string, CounterReading> = {};
    for (const spec of call.counters) {
      const reading: CounterReading = { usage: {}, seen: {} };
      const buckets = counters?.get(spec.counterId);
      for (const period of spec.periods) {
        const bucket = buckets?.get(period);
        const current = bucket !== undefined && bucket.start === periodStart(period, call.now);
        reading.usage[period] = current ? bucket.count : 0;
        reading.seen[period] = current && spec.resourceHash !== undefined && bucket.resources.has(spec.resourceHash);
      }
      readings[spec.counterId] = reading;
    }
    const outcome = evaluateCall(call, readings);
    if (outcome.record) {
      if (counters === undefined) {
        counters = new Map();
        this.visitors.set(visitorKey, counters);
      }
      call.consume.forEach((c, i) => {
        const units = outcome.consumed[i].units;
        if (units === 0) return;
        const spec = call.counters.find((s) => s.counterId === c.counterId);
        if (spec === undefined) throw new Error(`counter ${c.counterId} consumed but not read`);
        let buckets = counters!.get(c.counterId);
        if (buckets === undefined) counters!.set(c.counterId, (buckets = new Map()));
        for (const period of spec.periods) {
          const start = periodStart(period, call.now);
          let bucket = buckets.get(period);
          if (bucket === undefined || bucket.start !== start) buckets.set(period, (bucket = { start, count: 0, resources: new Set() }));
          bucket.count = Math.min(MAX_COUNTER_VALUE, Math.max(0, bucket.count + units));
          if (spec.resourceHash !== undefined && units > 0) bucket.resources.add(spec.resourceHash);
        }
      });
    }
    return { readings, requirementMet: outcome.requirementMet, consumed: outcome.consumed };
  }

  async close(): Promise<void> {
    this.visitors.clear();
  }
}
