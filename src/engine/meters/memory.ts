// In-memory meter store: per process, bounded by an LRU over visitors. The embedded default when no
// Redis is configured; consistent within one process only.
import { LRUCache } from 'lru-cache';
import { checkGrants, evaluateCall } from './semantics.js';
import { periodStart } from './periods.js';
import {
  MAX_COUNTER_VALUE,
  newIdWindow,
  type Grant,
  type IdempotencyClaim,
  type StoreAdmin,
  type Visitor,
  type VisitorGrant,
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
  /** Grants are paid entitlements: kept outside the LRU, so no number of visitors evicts them. */
  private readonly grantsByVisitor = new Map<string, { visitor: Visitor; grants: Map<string, Grant> }>();
  private readonly idempotency = new Map<string, { answer: string | null; until: number }>();
  readonly admin: StoreAdmin = this.adminOperations();

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
    const visitorKey = keyOf(call.visitor);
    let grantResult: Pick<MeterCallResult, 'grants' | 'grantsChanged'> = {};
    if (call.grants !== undefined) {
      const held = this.grantsByVisitor.get(visitorKey);
      const check = checkGrants(call.grants, held === undefined ? [] : [...held.grants.values()], call.now);
      if (!call.dryRun && held !== undefined) for (const plan of check.expired) held.grants.delete(plan);
      if (held !== undefined && held.grants.size === 0) this.grantsByVisitor.delete(visitorKey);
      grantResult = { grants: check.valid, grantsChanged: check.changed };
    }
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
    let outcome = evaluateCall(call, readings);
    if (grantResult.grantsChanged === true) {
      // Judged under plans that are not the visitor's: refuse everything, record nothing (as the script does).
      outcome = { requirementMet: false, consumed: call.consume.map((c) => ({ granted: false, units: 0, excess: Math.max(c.units, 0), free: false })), record: false };
    }
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
    return { readings, requirementMet: outcome.requirementMet, consumed: outcome.consumed, ...grantResult };
  }

  private adminOperations(): StoreAdmin {
    return {
      grants: async (visitor) => [...(this.grantsByVisitor.get(keyOf(visitor))?.grants.values() ?? [])].map((g) => ({ ...g })),
      putGrant: async (visitor, grant) => {
        const key = keyOf(visitor);
        let held = this.grantsByVisitor.get(key);
        if (held === undefined) this.grantsByVisitor.set(key, (held = { visitor: { ...visitor }, grants: new Map() }));
        held.grants.set(grant.plan, { ...grant });
      },
      removeGrant: async (visitor, plan) => {
        const key = keyOf(visitor);
        const held = this.grantsByVisitor.get(key);
        const removed = held?.grants.delete(plan) ?? false;
        if (held !== undefined && held.grants.size === 0) this.grantsByVisitor.delete(key);
        return removed;
      },
      allGrants: () => this.everyGrant(),
      resetCounter: async (visitor, counterId, periods) => {
        const buckets = this.visitors.get(keyOf(visitor))?.get(counterId);
        for (const period of periods) buckets?.delete(period);
      },
      forget: async (visitor) => {
        const key = keyOf(visitor);
        let removed = 0;
        const counters = this.visitors.get(key);
        for (const buckets of counters?.values() ?? []) removed += buckets.size;
        this.visitors.delete(key);
        removed += this.grantsByVisitor.get(key)?.grants.size ?? 0;
        this.grantsByVisitor.delete(key);
        return removed;
      },
      claimIdempotency: async (key, ttlMs): Promise<IdempotencyClaim> => {
        const now = Date.now();
        const held = this.idempotency.get(key);
        if (held !== undefined && held.until > now) return held.answer === null ? { state: 'pending' } : { state: 'done', answer: held.answer };
        if (this.idempotency.size >= 100_000) for (const [k, v] of this.idempotency) if (v.until <= now) this.idempotency.delete(k);
        this.idempotency.set(key, { answer: null, until: now + ttlMs });
        return { state: 'claimed' };
      },
      settleIdempotency: async (key, answer, ttlMs) => {
        if (answer === null) this.idempotency.delete(key);
        else this.idempotency.set(key, { answer, until: Date.now() + ttlMs });
      },
    };
  }

  private async *everyGrant(): AsyncIterable<VisitorGrant> {
    for (const { visitor, grants } of this.grantsByVisitor.values()) for (const grant of grants.values()) yield { ...grant, visitor: { ...visitor } };
  }

  async close(): Promise<void> {
    this.visitors.clear();
  }
}

function keyOf(visitor: Visitor): string {
  return `${visitor.userType}:${visitor.identifier}`;
}
