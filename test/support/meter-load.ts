// Steady load on a meter store while a test (or `npm run chaos`) breaks Redis under it, and the audit
// afterwards. Every call consumes one unit of a `uniqueResources` meter with a resource of its own,
// so the resource set in Redis says exactly which calls were applied: a granted call whose resource
// is missing was lost (a failover dropped an acknowledged write), a failed call whose resource is
// present was applied although its caller saw a failure (a timed-out call Redis ran anyway).
import type { Cluster, Redis } from 'ioredis';
import { bucketKey, resourceSetKey, visitorTag } from '../../src/engine/meters/redis-keys.js';
import { StoreUnavailableError, type MeterCall, type MeterStore, type Visitor } from '../../src/engine/meters/store.js';

export const LOAD_COUNTER = 'ha';

export interface LoadCall {
  visitor: number;
  resource: string;
  /** performance.now() when sent and when settled. */
  start: number;
  end: number;
  outcome: 'granted' | 'denied' | 'store-timeout' | 'store-unreachable' | 'store-error' | 'other';
  /** The error message of a failed call. */
  error?: string;
}

export interface MeterLoadOptions {
  store: MeterStore;
  /** Visitor identifiers (anonymous); calls go round-robin over them. */
  visitors: readonly string[];
  /** The meter's limit per visitor (uniqueResources, month). */
  limit: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** Pause between one worker's calls (ms); 0 for back-to-back. */
  pauseMs?: number;
  /** The decision clock (fixed, so every call hits the same bucket). */
  now: number;
}

export interface MeterLoad {
  readonly calls: readonly LoadCall[];
  /** Resolves once the next call of any visitor in `visitors` (indexes) is granted or denied after `since`. */
  answeredAfter(since: number, timeoutMs: number): Promise<number>;
  /** Waits (up to `timeoutMs`) until every visitor has been refused by the meter in a call sent after `since`; true if so. */
  everyVisitorRefusedAfter(since: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<LoadCall[]>;
}

export function meterCall(identifier: string, resource: string, limit: number, now: number): MeterCall {
  return {
    visitor: { userType: 'anonymous', identifier },
    now,
    counters: [{ counterId: LOAD_COUNTER, periods: ['month'], resourceHash: resource }],
    consume: [{ counterId: LOAD_COUNTER, units: 1, meter: { limit, period: 'month', uniqueResources: true, allowPartial: false } }],
    dryRun: false,
  };
}

export function startMeterLoad(options: MeterLoadOptions): MeterLoad {
  const calls: LoadCall[] = [];
  let running = true;
  let sequence = 0;
  const waiting: { since: number; resolve: (at: number) => void }[] = [];
  const worker = async () => {
    while (running) {
      const n = sequence++;
      const visitor = n % options.visitors.length;
      const resource = `r${n}`;
      const start = performance.now();
      const record: LoadCall = { visitor, resource, start, end: start, outcome: 'other' };
      try {
        const result = await options.store.run(meterCall(options.visitors[visitor], resource, options.limit, options.now));
        record.outcome = result.consumed[0].granted ? 'granted' : 'denied';
      } catch (err) {
        record.outcome = err instanceof StoreUnavailableError ? err.code : 'other';
        record.error = err instanceof Error ? err.message : String(err);
      }
      record.end = performance.now();
      calls.push(record);
      if (record.outcome === 'granted' || record.outcome === 'denied') {
        for (let i = waiting.length - 1; i >= 0; i--) {
          if (record.start >= waiting[i].since) {
            waiting[i].resolve(record.end);
            waiting.splice(i, 1);
          }
        }
      }
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  return {
    calls,
    answeredAfter: (since, timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no call sent after the fault was answered within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          since,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        });
      }),
    async everyVisitorRefusedAfter(since, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const refused = new Set(calls.filter((c) => c.outcome === 'denied' && c.start > since).map((c) => c.visitor));
        if (refused.size === options.visitors.length) return true;
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      return calls;
    },
  };
}

export interface LoadAudit {
  calls: number;
  granted: number;
  denied: number;
  /** Failed calls by code: the failure policy answers them. */
  failed: Record<string, number>;
  /** A few distinct failure messages, to say what went wrong. */
  errorSamples: string[];
  /** Granted calls whose increment is not in Redis: lost by a failover. */
  lost: number;
  /** Failed calls whose increment is in Redis: applied although the caller saw a failure. */
  appliedAfterFailure: number;
  /** Grants beyond the limit that lost increments do not explain (must be 0). */
  beyondPolicy: number;
  /** Visitors whose count key disagrees with their resource set (must be 0). */
  inconsistent: number;
  /** Visitors whose recorded resources exceed the limit (must be 0). */
  overLimit: number;
  /** The slowest call, and the 99th percentile, in ms. */
  maxMs: number;
  p99Ms: number;
}

/** Reads each visitor's count and resource set back (from any client that reaches their slot) and judges the calls. */
export async function auditLoad(
  redis: Redis | Cluster,
  options: { prefix: string; visitors: readonly string[]; limit: number; now: number },
  calls: readonly LoadCall[],
): Promise<LoadAudit> {
  const audit: LoadAudit = {
    calls: calls.length,
    granted: 0,
    denied: 0,
    failed: {},
    errorSamples: [],
    lost: 0,
    appliedAfterFailure: 0,
    beyondPolicy: 0,
    inconsistent: 0,
    overLimit: 0,
    maxMs: 0,
    p99Ms: 0,
  };
  const byVisitor = options.visitors.map(() => [] as LoadCall[]);
  for (const call of calls) {
    byVisitor[call.visitor].push(call);
    if (call.outcome === 'granted') audit.granted++;
    else if (call.outcome === 'denied') audit.denied++;
    else {
      audit.failed[call.outcome] = (audit.failed[call.outcome] ?? 0) + 1;
      if (call.error !== undefined && audit.errorSamples.length < 3 && !audit.errorSamples.includes(call.error)) audit.errorSamples.push(call.error);
    }
  }
  for (let v = 0; v < options.visitors.length; v++) {
    const countKey = bucketKey(options.prefix, visitorTag({ userType: 'anonymous', identifier: options.visitors[v] }), LOAD_COUNTER, 'month', options.now);
    const [count, members] = await Promise.all([redis.get(countKey), redis.smembers(resourceSetKey(countKey))]);
    const recorded = new Set(members);
    if (Number(count ?? 0) !== recorded.size) audit.inconsistent++;
    if (recorded.size > options.limit) audit.overLimit++;
    let granted = 0;
    let lost = 0;
    for (const call of byVisitor[v]) {
      if (call.outcome === 'granted') {
        granted++;
        if (!recorded.has(call.resource)) lost++;
      } else if (call.outcome !== 'denied' && recorded.has(call.resource)) audit.appliedAfterFailure++;
    }
    audit.lost += lost;
    audit.beyondPolicy += Math.max(0, granted - options.limit - lost);
  }
  const timing = callTimes(calls);
  audit.maxMs = timing.maxMs;
  audit.p99Ms = timing.p99Ms;
  return audit;
}

/** `count` visitor identifiers whose keys live in a slot `accepts` (generated until they fall there). */
export function visitorsInSlots(
  count: number,
  accepts: (slot: number) => boolean,
  slotOf: (key: string) => number,
  label: string,
  userType: Visitor['userType'] = 'anonymous',
): string[] {
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) {
    const identifier = `${label}-${i}`;
    if (accepts(slotOf(visitorTag({ userType, identifier })))) found.push(identifier);
  }
  return found;
}

export interface FaultScenario extends Omit<MeterLoadOptions, 'now'> {
  now?: number;
  /** Load before the fault (ms): at most this, less once a quarter of the visitors' limits is used. */
  warmupMs: number;
  /** Breaks Redis (kill a primary, cut the network...). */
  fault(): Promise<void>;
  /** Mends it after `holdMs` (restart, reconnect the network); without it the system must heal itself (failover). */
  heal?: () => Promise<void>;
  holdMs?: number;
  /** The first answer after the fault (or the heal) must come within this. */
  recoverWithinMs: number;
  /** Reads the counts back once the load has stopped (Redis may still be settling). */
  audit(calls: readonly LoadCall[], options: { visitors: readonly string[]; limit: number; now: number }): Promise<LoadAudit>;
}

export interface FaultOutcome {
  audit: LoadAudit;
  /** From the fault (or the heal) to the first call sent after it that Redis answered. */
  recoveryMs: number;
  /** Calls sent between the fault and the recovery, and how they ended. */
  duringFault: { calls: number; answered: number; byPolicy: number; p99Ms: number; maxMs: number };
  /** Every visitor was refused by the meter after the recovery (their limit holds across the fault). */
  refusedAfter: boolean;
  /** Grants answered in the 200 ms before the fault: the fault met writes in flight (else nothing could be lost). */
  grantedJustBefore: number;
}

/**
 * Load, fault, (heal), recovery, then load until every visitor has met the limit, and the audit: the
 * scenario the failover tests assert on and `npm run chaos` tabulates.
 */
export async function loadThroughFault(scenario: FaultScenario): Promise<FaultOutcome> {
  const now = scenario.now ?? Date.now();
  const load = startMeterLoad({ ...scenario, now });
  try {
    // The fault strikes after warmupMs, or sooner once a quarter of every visitor's limit is used
    // (a fast machine): either way while grants are still being written.
    const warmupEnds = performance.now() + scenario.warmupMs;
    const quarter = (scenario.visitors.length * scenario.limit) / 4;
    const granted = () => load.calls.filter((c) => c.outcome === 'granted').length;
    while (performance.now() < warmupEnds && granted() < quarter) await new Promise((r) => setTimeout(r, 10));
    // ... and right after a grant lands (a loaded machine can stall the load for a moment).
    const grantsSoFar = granted();
    const stalledUntil = performance.now() + 10_000;
    while (granted() === grantsSoFar && performance.now() < stalledUntil) await new Promise((r) => setTimeout(r, 2));
    const faultAt = performance.now();
    await scenario.fault();
    let from = faultAt;
    if (scenario.heal !== undefined) {
      await new Promise((r) => setTimeout(r, scenario.holdMs ?? 0));
      from = performance.now();
      await scenario.heal();
    }
    const recoveredAt = await load.answeredAfter(from, scenario.recoverWithinMs);
    const refusedAfter = await load.everyVisitorRefusedAfter(recoveredAt, 20_000);
    const calls = await load.stop();
    const during = calls.filter((c) => c.start >= faultAt && c.start < recoveredAt);
    const answered = during.filter((c) => c.outcome === 'granted' || c.outcome === 'denied').length;
    return {
      audit: await scenario.audit(calls, { visitors: scenario.visitors, limit: scenario.limit, now }),
      recoveryMs: Math.round(recoveredAt - from),
      duringFault: {
        calls: during.length,
        answered,
        byPolicy: during.length - answered,
        ...callTimes(during),
      },
      refusedAfter,
      grantedJustBefore: calls.filter((c) => c.outcome === 'granted' && c.end <= faultAt && c.end > faultAt - 200).length,
    };
  } finally {
    await load.stop();
  }
}

/** The 99th percentile and the slowest of the calls' times, in whole ms. */
function callTimes(calls: readonly LoadCall[]): { p99Ms: number; maxMs: number } {
  const times = calls.map((c) => c.end - c.start).sort((a, b) => a - b);
  return { p99Ms: Math.round(times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0), maxMs: Math.round(times.at(-1) ?? 0) };
}
