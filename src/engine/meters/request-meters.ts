// The meters of one request: what the store reported, what this request consumed, and the
// meterable property shapes of PRODUCT.md §2 built from them.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CompiledProperty, MeterableValue, Model } from '../model.js';
import type { MeterableProperty } from '../types.js';
import { periodStartHttpDate } from './periods.js';
import type { ConsumeResult, CounterReading, CounterSpec, MeterCallResult } from './store.js';

interface CounterState {
  reading: CounterReading;
  /** Units recorded by this request, added to every period bucket. */
  recorded: number;
  /** Whether this request recorded the resource (it is then counted for the rest of the request). */
  resourceRecorded: boolean;
}

interface RequestConsumption {
  granted: boolean;
  units: number;
  excess: number;
}

/** Resource ids repeat (the same articles are read again and again): their hashes are kept. */
const resourceHashes = new LRUCache<string, string>({ max: 10_000 });

export function hashResource(resourceId: string): string {
  let hash = resourceHashes.get(resourceId);
  if (hash === undefined) {
    hash = createHash('sha256').update(resourceId).digest('base64url').slice(0, 22);
    resourceHashes.set(resourceId, hash);
  }
  return hash;
}

export class RequestMeters {
  private readonly states = new Map<string, CounterState>();
  private readonly consumptions = new Map<string, RequestConsumption>();
  /** Set when the store could not answer: metered properties then follow the failure policy. */
  degraded = false;
  /** Whether this request recorded units (in a dry run: would have), declared or by a workflow. */
  recordsUsage = false;
  private readonly resourceHash: string | undefined;

  constructor(
    private readonly model: Model,
    private readonly now: number,
    resourceId: string | undefined,
  ) {
    this.resourceHash = resourceId === undefined || resourceId === '' ? undefined : hashResource(resourceId);
  }

  spec(counterId: string): CounterSpec {
    const periods = this.model.counterPeriods.get(counterId) ?? ['lifetime'];
    const unique = this.resourceHash !== undefined && this.model.uniqueCounters.has(counterId);
    return unique ? { counterId, periods, resourceHash: this.resourceHash } : { counterId, periods };
  }

  hasResource(counterId: string): boolean {
    return this.resourceHash !== undefined && this.model.uniqueCounters.has(counterId);
  }

  /** Take the readings of a store call and the units it recorded. */
  absorb(result: MeterCallResult, consumed: readonly { counterId: string }[], dryRun: boolean): void {
    for (const [counterId, reading] of Object.entries(result.readings)) {
      // A later call re-reads what earlier calls of this request recorded, except in a dry run,
      // where nothing was recorded and the request's own consumption is carried over.
      const carried = dryRun ? this.states.get(counterId) : undefined;
      this.states.set(counterId, { reading, recorded: carried?.recorded ?? 0, resourceRecorded: carried?.resourceRecorded ?? false });
    }
    consumed.forEach((c, i) => this.noteConsumption(c.counterId, result.consumed[i]));
  }

  /**
   * A dry run records nothing, so the store's readings miss what this request already consumed:
   * those readings plus the request's own units, to judge its next consumption as a real run would.
   */
  withOwnUsage(readings: Record<string, CounterReading>): Record<string, CounterReading> {
    const adjusted: Record<string, CounterReading> = {};
    for (const [counterId, reading] of Object.entries(readings)) {
      const state = this.states.get(counterId);
      if (state === undefined || (state.recorded === 0 && !state.resourceRecorded)) {
        adjusted[counterId] = reading;
        continue;
      }
      const usage: CounterReading['usage'] = {};
      const seen: CounterReading['seen'] = {};
      for (const period of Object.keys(reading.usage) as (keyof CounterReading['usage'])[]) {
        usage[period] = (reading.usage[period] ?? 0) + state.recorded;
        seen[period] = reading.seen[period] === true || state.resourceRecorded;
      }
      adjusted[counterId] = { usage, seen };
    }
    return adjusted;
  }

  /** Record a consumption outcome without a store (on/off, degraded). */
  noteConsumption(counterId: string, outcome: ConsumeResult): void {
    if (outcome.units > 0) this.recordsUsage = true;
    const state = this.states.get(counterId);
    if (state !== undefined && outcome.units !== 0) {
      state.recorded += outcome.units;
      if (this.hasResource(counterId) && outcome.units > 0) state.resourceRecorded = true;
    }
    if (state !== undefined && outcome.free) state.resourceRecorded = true;
    const previous = this.consumptions.get(counterId);
    this.consumptions.set(counterId, {
      granted: outcome.granted,
      units: (previous?.units ?? 0) + outcome.units,
      excess: (previous?.excess ?? 0) + outcome.excess,
    });
  }

  /** The wire shape of a meterable property under its resolved value. */
  property(property: CompiledProperty, value: MeterableValue | undefined, isFallback: boolean, failOpen: boolean): MeterableProperty {
    const counterId = property.counterId;
    if (value === undefined || value.kind === 'off') return { counterId, type: 'meterable', hasAccess: false, isFallback };
    if (value.kind === 'on') return { counterId, type: 'meterable', hasAccess: true, isFallback };
    const consumption = this.consumptions.get(counterId);
    if (this.degraded) return { counterId, type: 'meterable', hasAccess: consumption !== undefined ? consumption.granted : failOpen, isFallback };
    const state = this.states.get(counterId);
    const used = (state?.reading.usage[value.period] ?? 0) + (state?.recorded ?? 0);
    const seen = this.hasResource(counterId) && (state?.reading.seen[value.period] === true || state?.resourceRecorded === true);
    const remainingUnits = Math.max(0, value.limit - used);
    const resourceIdUsed = value.uniqueResources && seen;
    const hasAccess = consumption !== undefined ? consumption.granted : remainingUnits > 0 || resourceIdUsed;
    const periodStart = periodStartHttpDate(value.period, this.now);
    // Keys in the order MonetizationOS sends them, isFallback last.
    if (consumption === undefined) {
      return {
        counterId,
        type: 'meterable',
        hasAccess,
        consumedUnits: used,
        remainingUnits,
        totalUnits: value.limit,
        uniqueResources: value.uniqueResources,
        resourceIdUsed,
        periodStart,
        isFallback,
      };
    }
    return {
      counterId,
      type: 'meterable',
      hasAccess,
      consumedUnits: used,
      remainingUnits,
      totalUnits: value.limit,
      uniqueResources: value.uniqueResources,
      resourceIdUsed,
      periodStart,
      consumedInRequest: consumption.granted,
      consumedUnitsInRequest: consumption.units,
      excessUnitsInRequest: consumption.excess,
      isFallback,
    };
  }
}
