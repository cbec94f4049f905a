// Which plans a visitor has, and how stacked plans resolve each property (docs/concepts.md "Plans and how stacked plans resolve").
import type { CompiledPlan, Conflict, Model, PlanValue } from './model.js';
import type { Period } from './meters/store.js';

/** Shorter periods rank higher between meters of equal limit (3/day beats 3/month). */
const PERIOD_RANK: Record<Period, number> = { day: 4, week: 3, month: 2, year: 1, lifetime: 0 };

/** Compare two values of one property: > 0 when `a` ranks higher. Strings never compare here (declaration order decides). */
export function compareValues(a: PlanValue, b: PlanValue): number {
  if (a.kind === 'scalar' && b.kind === 'scalar') {
    const x = a.value;
    const y = b.value;
    if (x === y) return 0;
    if (x === null) return -1;
    if (y === null) return 1;
    if (typeof x === 'boolean' && typeof y === 'boolean') return (x ? 1 : 0) - (y ? 1 : 0);
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return 0;
  }
  const kindRank = (v: PlanValue) => (v.kind === 'off' ? 0 : v.kind === 'metered' ? 1 : v.kind === 'on' ? 2 : -1);
  if (a.kind !== 'metered' || b.kind !== 'metered') return kindRank(a) - kindRank(b);
  if (a.limit !== b.limit) return a.limit - b.limit;
  if (a.period !== b.period) return PERIOD_RANK[a.period] - PERIOD_RANK[b.period];
  return (a.uniqueResources ? 1 : 0) - (b.uniqueResources ? 1 : 0);
}

export interface ResolvedValue {
  value: PlanValue;
  /** The plan that set it. */
  plan: string;
}

/**
 * Resolve one property across plans (given in declaration order). Under `highest` the higher value
 * wins; under `lowest` the lower. Equal ranks (and strings) go to the later plan under `highest`, the
 * earlier under `lowest`.
 */
export function resolveProperty(key: string, plans: readonly CompiledPlan[], conflict: Conflict): ResolvedValue | undefined {
  let best: ResolvedValue | undefined;
  for (const plan of plans) {
    const value = plan.values.get(key);
    if (value === undefined) continue;
    if (best === undefined) {
      best = { value, plan: plan.slug };
      continue;
    }
    const cmp = compareValues(value, best.value);
    if (conflict === 'highest' ? cmp >= 0 : cmp < 0) best = { value, plan: plan.slug };
  }
  return best;
}

export type ResolvedPlanValues = ReadonlyMap<string, ResolvedValue>;

/** A visitor's plans and what they resolve to; one object per distinct plan set, shared by requests. */
export interface PlanSet {
  /** Plan slugs in declaration order. */
  slugs: readonly string[];
  values: ResolvedPlanValues;
}

/** Resolves every property for a set of plans; memoised per user type and provisioned plans (there are few). */
export class PlanResolver {
  private readonly cache = new Map<string, PlanSet>();
  private static readonly MAX_CACHED = 1024;

  constructor(private readonly model: Model) {}

  /** Plans in effect: automatic for the user type plus provisioned, unique, in declaration order. */
  planSet(userType: 'anonymous' | 'authenticated', provisioned: readonly string[]): PlanSet {
    const cacheKey = provisioned.length === 0 ? userType : `${userType},${provisioned.join(',')}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const plans = this.plansFor(userType, provisioned);
    const set: PlanSet = { slugs: plans.map((p) => p.slug), values: this.resolve(plans) };
    if (this.cache.size < PlanResolver.MAX_CACHED) this.cache.set(cacheKey, set);
    return set;
  }

  private plansFor(userType: 'anonymous' | 'authenticated', provisioned: readonly string[]): readonly CompiledPlan[] {
    const auto = this.model.autoPlans[userType];
    if (provisioned.length === 0) return auto;
    const slugs = new Set(auto.map((p) => p.slug));
    for (const slug of provisioned) slugs.add(slug);
    return this.model.plans.filter((p) => slugs.has(p.slug));
  }

  private resolve(plans: readonly CompiledPlan[]): ResolvedPlanValues {
    const resolved = new Map<string, ResolvedValue>();
    for (const feature of this.model.features) {
      for (const property of feature.properties) {
        const value = resolveProperty(property.key, plans, property.conflict);
        if (value !== undefined) resolved.set(property.key, value);
      }
    }
    return resolved;
  }
}
