// Running the business (docs/admin.md): grant and revoke plans, read and correct a visitor's meters,
// forget a visitor. The admin API and the CLI call these same functions; every action that changes
// something is logged as one `admin-action` line (who, what, when).
import type { EventLogger } from '../events.js';
import { EngineError } from './errors.js';
import type { GrantCache } from './grants.js';
import { periodStart } from './meters/periods.js';
import { grantActive } from './meters/semantics.js';
import { MAX_UNITS_PER_CALL, StoreUnavailableError, type Grant, type MeterStore, type Period, type Visitor, type VisitorGrant } from './meters/store.js';
import type { Model } from './model.js';

/** A grant as the admin API shows it. */
export interface GrantView {
  plan: string;
  /** ISO 8601, or null: until revoked. */
  expiresAt: string | null;
  grantedAt: string;
  by: string;
  note?: string;
  /** Whether it is in effect now (an expired grant is ignored and removed by the next decision). */
  active: boolean;
}

/** One line of a grants export (JSON lines): the visitor and the grant. */
export interface GrantLine {
  userType: Visitor['userType'];
  identifier: string;
  plan: string;
  expiresAt: string | null;
  grantedAt: string;
  by: string;
  note?: string;
}

export interface MeterView {
  counterId: string;
  /** Usage per period bucket now, and the bucket's start. */
  periods: { period: Period; usage: number; periodStart: string }[];
}

export interface EngineAdmin {
  grant(visitor: Visitor, input: { plan: string; expiresAt?: string | null; note?: string }, who: string, now?: number): Promise<GrantView>;
  revoke(visitor: Visitor, plan: string, who: string): Promise<{ revoked: boolean }>;
  grants(visitor: Visitor, now?: number): Promise<GrantView[]>;
  exportGrants(): AsyncIterable<GrantLine>;
  /** Imports export lines (one JSON object per line); every line is checked before any is written. */
  importGrants(text: string, who: string, now?: number): Promise<{ imported: number }>;
  meters(visitor: Visitor, now?: number): Promise<MeterView[]>;
  /** Adds `units` (negative takes away) to every period bucket of the counter; counters stay within 0 and the ceiling. */
  adjustMeter(visitor: Visitor, counterId: string, units: number, who: string, now?: number): Promise<MeterView>;
  /** Empties the counter's current buckets (usage and remembered resources). */
  resetMeter(visitor: Visitor, counterId: string, who: string, now?: number): Promise<MeterView>;
  /** Deletes every key of the visitor: meters of every period, resource sets, grants. */
  forget(visitor: Visitor, who: string): Promise<{ keysDeleted: number }>;
}

/** Who did what, logged once per action that changed something. */
function audit(logger: EventLogger | undefined, who: string, action: string, visitor: Visitor, fields: Record<string, unknown> = {}): void {
  logger?.event('info', 'admin-action', { who, action, userType: visitor.userType, identifier: visitor.identifier, ...fields, at: new Date().toISOString() });
}

export function view(grant: Grant, now: number): GrantView {
  const shown: GrantView = {
    plan: grant.plan,
    expiresAt: grant.expiresAt === null ? null : new Date(grant.expiresAt).toISOString(),
    grantedAt: new Date(grant.grantedAt).toISOString(),
    by: grant.by,
    active: grantActive(grant, now),
  };
  if (grant.note !== undefined) shown.note = grant.note;
  return shown;
}

/** An ISO 8601 date or time, or null; anything else is an invalid-request naming the field. */
function parseExpiry(value: unknown, field: string): number | null {
  if (value === null || value === undefined) return null;
  const at = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at)) throw new EngineError('invalid-request', `${field} must be an ISO 8601 date or time (2027-03-01 or 2027-03-01T00:00:00Z), got ${JSON.stringify(value)}`);
  return at;
}

const MAX_NOTE = 500;

export function createAdmin(deps: { model: Model; store: MeterStore; grants: GrantCache; logger?: EventLogger }): EngineAdmin {
  const { model, store, logger } = deps;

  const knownPlan = (plan: unknown, field = 'plan'): string => {
    if (typeof plan !== 'string' || !model.planBySlug.has(plan))
      throw new EngineError('unknown-plan', `${field}: unknown plan ${JSON.stringify(plan)}; the config declares ${[...model.planBySlug.keys()].join(', ')}`);
    return plan;
  };
  const grantsOn = () => {
    if (!model.store.grants)
      throw new EngineError('grants-disabled', 'this config does not read grants: set store.grants: true, or decisions would ignore the grant');
  };
  const knownCounter = (counterId: string): readonly Period[] => {
    const periods = model.counterPeriods.get(counterId);
    if (periods === undefined) throw new EngineError('unknown-counter', `unknown counterId '${counterId}'; the config counts ${[...model.counterPeriods.keys()].join(', ')}`);
    return periods;
  };
  /** The store's failures become the API's 503 (nothing was changed, or the change is unknown: retry). */
  const storeCall = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        logger?.event('error', err.code, { message: err.message, operation: 'admin' });
        throw new EngineError('store-unavailable', 'the meter store is unavailable; nothing was changed, retry later');
      }
      throw err;
    }
  };
  const meterOf = async (visitor: Visitor, counterId: string, now: number): Promise<MeterView> => {
    const periods = knownCounter(counterId);
    const result = await storeCall(() => store.run({ visitor, now, counters: [{ counterId, periods }], consume: [], dryRun: true }));
    return meterView(counterId, periods, result.readings[counterId]?.usage ?? {}, now);
  };

  return {
    async grant(visitor, input, who, now = Date.now()) {
      grantsOn();
      const plan = knownPlan(input.plan);
      const expiresAt = parseExpiry(input.expiresAt, 'expiresAt');
      if (expiresAt !== null && expiresAt <= now) throw new EngineError('invalid-request', `expiresAt ${input.expiresAt} is not in the future`);
      if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > MAX_NOTE))
        throw new EngineError('invalid-request', `note must be a string of at most ${MAX_NOTE} characters`);
      const grant: Grant = { plan, expiresAt, grantedAt: now, by: who };
      if (input.note !== undefined) grant.note = input.note;
      await storeCall(() => store.admin.putGrant(visitor, grant));
      audit(logger, who, 'grant', visitor, { plan, expiresAt: grant.expiresAt === null ? null : new Date(grant.expiresAt).toISOString() });
      return view(grant, now);
    },

    async revoke(visitor, plan, who) {
      if (typeof plan !== 'string' || plan === '') throw new EngineError('invalid-request', 'plan must name the granted plan');
      const revoked = await storeCall(() => store.admin.removeGrant(visitor, plan));
      if (revoked) {
        deps.grants.learn(visitor, []);
        audit(logger, who, 'revoke', visitor, { plan });
      }
      return { revoked };
    },

    async grants(visitor, now = Date.now()) {
      const grants = await storeCall(() => store.admin.grants(visitor));
      return grants.sort((a, b) => a.plan.localeCompare(b.plan)).map((g) => view(g, now));
    },

    async *exportGrants() {
      const iterator = store.admin.allGrants()[Symbol.asyncIterator]();
      for (;;) {
        const next: IteratorResult<VisitorGrant> = await storeCall(() => iterator.next());
        if (next.done === true) return;
        const { visitor, ...grant } = next.value;
        const { active: _active, ...shown } = view(grant, 0);
        yield { userType: visitor.userType, identifier: visitor.identifier, ...shown };
      }
    },

    async importGrants(text, who, now = Date.now()) {
      grantsOn();
      const parsed: { visitor: Visitor; grant: Grant }[] = [];
      text.split('\n').forEach((raw, index) => {
        const line = raw.trim();
        if (line === '') return;
        const where = `line ${index + 1}`;
        let value: Partial<GrantLine>;
        try {
          value = JSON.parse(line) as Partial<GrantLine>;
        } catch {
          throw new EngineError('invalid-request', `${where}: not JSON (one grant per line, as export writes them)`);
        }
        if (value.userType !== 'authenticated' && value.userType !== 'anonymous') throw new EngineError('invalid-request', `${where}: userType must be authenticated or anonymous`);
        if (typeof value.identifier !== 'string' || value.identifier === '') throw new EngineError('invalid-request', `${where}: identifier must be a non-empty string`);
        const plan = knownPlan(value.plan, `${where}: plan`);
        const expiresAt = parseExpiry(value.expiresAt, `${where}: expiresAt`);
        const grantedAt = value.grantedAt === undefined ? now : parseExpiry(value.grantedAt, `${where}: grantedAt`) ?? now;
        const grant: Grant = { plan, expiresAt, grantedAt, by: typeof value.by === 'string' ? value.by : who };
        if (typeof value.note === 'string') grant.note = value.note.slice(0, MAX_NOTE);
        parsed.push({ visitor: { userType: value.userType, identifier: value.identifier }, grant });
      });
      for (const { visitor, grant } of parsed) await storeCall(() => store.admin.putGrant(visitor, grant));
      logger?.event('info', 'admin-action', { who, action: 'import-grants', grants: parsed.length, at: new Date().toISOString() });
      return { imported: parsed.length };
    },

    async meters(visitor, now = Date.now()) {
      const counters = [...model.counterPeriods].map(([counterId, periods]) => ({ counterId, periods }));
      const result = await storeCall(() => store.run({ visitor, now, counters, consume: [], dryRun: true }));
      return counters.map(({ counterId, periods }) => meterView(counterId, periods, result.readings[counterId]?.usage ?? {}, now));
    },

    async adjustMeter(visitor, counterId, units, who, now = Date.now()) {
      const periods = knownCounter(counterId);
      if (!Number.isInteger(units) || units === 0 || Math.abs(units) > MAX_UNITS_PER_CALL)
        throw new EngineError('invalid-request', `units must be a non-zero integer from -${MAX_UNITS_PER_CALL} to ${MAX_UNITS_PER_CALL}`);
      await storeCall(() => store.run({ visitor, now, counters: [{ counterId, periods }], consume: [{ counterId, units, meter: null }], dryRun: false }));
      audit(logger, who, 'adjust-meter', visitor, { counterId, units });
      return meterOf(visitor, counterId, now);
    },

    async resetMeter(visitor, counterId, who, now = Date.now()) {
      const periods = knownCounter(counterId);
      await storeCall(() => store.admin.resetCounter(visitor, counterId, periods, now));
      audit(logger, who, 'reset-meter', visitor, { counterId });
      return meterOf(visitor, counterId, now);
    },

    async forget(visitor, who) {
      const keysDeleted = await storeCall(() => store.admin.forget(visitor));
      deps.grants.learn(visitor, []);
      audit(logger, who, 'forget', visitor, { keysDeleted });
      return { keysDeleted };
    },
  };
}

function meterView(counterId: string, periods: readonly Period[], usage: Partial<Record<Period, number>>, now: number): MeterView {
  return { counterId, periods: periods.map((period) => ({ period, usage: usage[period] ?? 0, periodStart: new Date(periodStart(period, now)).toISOString() })) };
}
