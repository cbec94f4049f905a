// What paywall pages and declared components are rendered with (docs/components.md "Template
// values"): the decision told in a reader's terms. Built only for a denied request or a surface or
// route with declared components, once per request, from what the decision already knows.
import type { DeclaredConsumption, Model, PaywallLinks } from './model.js';
import type { Period } from './meters/store.js';
import type { ResolvedPlanValues } from './plans.js';
import type { FeatureDecision, TemplateValues } from './types.js';

export type { TemplateValues };

/** The names templates may use: a template naming anything else is refused at load. */
export const TEMPLATE_VALUE_NAMES: readonly string[] = [
  'denied',
  'reason',
  'feature',
  'remaining',
  'limit',
  'period',
  'plans',
  'upgradePlans',
  'authenticated',
  'returnPath',
  'returnParam',
  'loginUrl',
  'plansUrl',
  'properties',
];

/** `url` with `param=<path>` added (the return path is always percent-encoded, never taken from Host). */
export function withReturn(url: string, param: string, path: string): string {
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}${encodeURIComponent(param)}=${encodeURIComponent(path)}`;
}

/** A local path to come back to: `/...` but not `//host` or `/\host` (which browsers treat as another site). */
export function localReturnPath(url: unknown): string {
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//') || url.startsWith('/\\')) return '/';
  return url;
}

export interface TemplateValueInput {
  model: Model;
  values: ResolvedPlanValues;
  plans: readonly string[];
  features: Record<string, FeatureDecision>;
  /** The property the request is metered or guarded by: the one that denied it, else the first declared. */
  focus?: DeclaredConsumption;
  reason?: 'consumption' | 'requirement';
  returnPath: string;
  authenticated: boolean;
  properties: Record<string, unknown> | undefined;
}

export function templateValues(input: TemplateValueInput): TemplateValues {
  const { model, focus, returnPath } = input;
  const links: PaywallLinks = model.paywall;
  let remaining: number | null = null;
  let limit: number | null = null;
  let period: Period | null = null;
  let feature = '';
  let upgradePlans: string[] = [];
  if (focus !== undefined) {
    feature = model.featureBySlug.get(focus.feature)?.name ?? focus.feature;
    const property = input.features[focus.feature]?.properties[focus.property];
    const value = input.values.get(`${focus.feature}.${focus.property}`)?.value;
    if (property?.type === 'meterable' && value?.kind === 'metered') {
      remaining = property.remainingUnits ?? null;
      limit = property.totalUnits ?? value.limit;
      period = value.period;
    }
    upgradePlans = plansGivingMore(model, input.plans, `${focus.feature}.${focus.property}`, limit);
  }
  return {
    denied: input.reason !== undefined,
    reason: input.reason ?? '',
    feature,
    remaining,
    limit,
    period,
    plans: input.plans.map((slug) => model.planBySlug.get(slug)?.name ?? slug),
    upgradePlans,
    authenticated: input.authenticated,
    returnPath,
    returnParam: encodeURIComponent(returnPath),
    loginUrl: links.loginUrl === undefined ? '' : withReturn(links.loginUrl, links.returnParam, returnPath),
    plansUrl: links.plansUrl === undefined ? '' : withReturn(links.plansUrl, links.returnParam, returnPath),
    properties: input.properties ?? {},
  };
}

/** Plans the visitor lacks whose value for `key` is unlimited, true, or a larger meter than `limit`. */
function plansGivingMore(model: Model, have: readonly string[], key: string, limit: number | null): string[] {
  const names: string[] = [];
  for (const plan of model.plans) {
    if (have.includes(plan.slug)) continue;
    const value = plan.values.get(key);
    const more =
      value?.kind === 'on' ||
      (value?.kind === 'scalar' && value.value === true) ||
      (value?.kind === 'metered' && value.limit > 0 && (limit === null || value.limit > limit));
    if (more) names.push(plan.name);
  }
  return names;
}
