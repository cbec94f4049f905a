// The meter rules of one store call, as a pure function over the state read before the call.
// The in-memory store applies it directly; the Redis Lua script implements the same rules
// (test/engine/meters/*.test.ts runs one table against both).
import type { ConsumeResult, CounterReading, Grant, MeterCall, MeterLimit } from './store.js';

export interface CallOutcome {
  requirementMet: boolean;
  consumed: ConsumeResult[];
  /** Whether anything is to be recorded (false when dry, denied or nothing granted). */
  record: boolean;
}

function hasAccess(reading: CounterReading | undefined, m: Omit<MeterLimit, 'allowPartial'>, resourceKnown: boolean): boolean {
  const used = reading?.usage[m.period] ?? 0;
  if (used < m.limit) return true;
  return m.uniqueResources && resourceKnown && reading?.seen[m.period] === true;
}

export function evaluateCall(call: MeterCall, readings: Record<string, CounterReading>): CallOutcome {
  const hashes = new Map(call.counters.map((c) => [c.counterId, c.resourceHash]));
  const requirementMet = (call.require ?? []).every((r) => hasAccess(readings[r.counterId], r, hashes.get(r.counterId) !== undefined));
  const refused = (units: number): ConsumeResult => ({ granted: false, units: 0, excess: Math.max(units, 0), free: false });
  if (!requirementMet) {
    return { requirementMet, consumed: call.consume.map((c) => refused(c.units)), record: false };
  }
  const consumed = call.consume.map((c): ConsumeResult => {
    if (c.meter === null) return { granted: true, units: c.units, excess: 0, free: false };
    const reading = readings[c.counterId];
    const { limit, period, uniqueResources, allowPartial } = c.meter;
    if (uniqueResources && hashes.get(c.counterId) !== undefined && reading?.seen[period] === true) {
      return { granted: true, units: 0, excess: 0, free: true };
    }
    const used = reading?.usage[period] ?? 0;
    if (used + c.units <= limit) return { granted: true, units: c.units, excess: 0, free: false };
    if (allowPartial && used < limit) {
      const units = limit - used;
      return { granted: true, units, excess: c.units - units, free: false };
    }
    return refused(c.units);
  });
  if (consumed.some((r) => !r.granted)) {
    return { requirementMet, consumed: call.consume.map((c) => refused(c.units)), record: false };
  }
  return { requirementMet, consumed, record: !call.dryRun && consumed.some((r) => r.units !== 0) };
}

/** What a call with `grants` finds: the grants in effect at `now`, the expired ones, and whether the assumption holds. */
export interface GrantCheck {
  valid: Grant[];
  expired: string[];
  changed: boolean;
}

/** A grant is in effect until its expiry (exclusive): at `expiresAt` it has expired. */
export function grantActive(grant: Pick<Grant, 'expiresAt'>, now: number): boolean {
  return grant.expiresAt === null || grant.expiresAt > now;
}

export function checkGrants(assumed: readonly string[], stored: readonly Grant[], now: number): GrantCheck {
  const valid: Grant[] = [];
  const expired: string[] = [];
  for (const grant of stored) (grantActive(grant, now) ? valid.push(grant) : expired.push(grant.plan));
  const plans = valid.map((g) => g.plan).sort();
  const changed = plans.length !== assumed.length || plans.some((plan, i) => plan !== assumed[i]);
  return { valid, expired, changed };
}
