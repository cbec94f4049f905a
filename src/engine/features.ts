// Feature properties: the decision's `features` (every feature, every property, fallbacks marked)
// and the handles workflows receive for them.
import type { CompiledProperty, Model, MeterableValue } from './model.js';
import type { RequestMeters } from './meters/request-meters.js';
import type { ResolvedPlanValues } from './plans.js';
import type { FeatureDecision, MeterableProperty, PropertyDecision } from './types.js';
import type { WorkflowFeatures } from './workflows/types.js';

export function propertyDecision(model: Model, property: CompiledProperty, values: ResolvedPlanValues, meters: RequestMeters): PropertyDecision {
  const resolved = values.get(property.key);
  if (property.type === 'meterable') {
    return meters.property(property, resolved?.value as MeterableValue | undefined, resolved === undefined, model.store.failurePolicy === 'open');
  }
  if (resolved === undefined || resolved.value.kind !== 'scalar') return { type: property.type, value: property.fallback, isFallback: true };
  return { type: property.type, value: resolved.value.value, isFallback: false };
}

export function buildFeatures(model: Model, values: ResolvedPlanValues, meters: RequestMeters): Record<string, FeatureDecision> {
  const features: Record<string, FeatureDecision> = {};
  for (const feature of model.features) {
    const properties: Record<string, PropertyDecision> = {};
    for (const property of feature.properties) properties[property.slug] = propertyDecision(model, property, values, meters);
    features[feature.slug] = { featureId: feature.featureId, featureSlug: feature.slug, properties };
  }
  return features;
}

export interface MeterOperations {
  consume(featureSlug: string, propertySlug: string, units: number): Promise<MeterableProperty>;
  incrementCounter(featureSlug: string, propertySlug: string, units: number): Promise<MeterableProperty>;
}

/** `features[slug][property]`: scalars as their decision, meterables with consume() and incrementCounter(). */
export function workflowFeatures(model: Model, values: ResolvedPlanValues, meters: RequestMeters, ops: MeterOperations): WorkflowFeatures {
  const features: WorkflowFeatures = {};
  for (const feature of model.features) {
    const handles: Record<string, unknown> = {};
    for (const property of feature.properties) {
      const current = propertyDecision(model, property, values, meters);
      if (current.type !== 'meterable') {
        handles[property.slug] = current;
        continue;
      }
      const handle = {
        ...current,
        consume: async (units = 1) => refresh(handle, await ops.consume(feature.slug, property.slug, units)),
        incrementCounter: async (units = 1) => refresh(handle, await ops.incrementCounter(feature.slug, property.slug, units)),
      };
      handles[property.slug] = handle;
    }
    features[feature.slug] = handles;
  }
  return features;
}

/** Keep a handle's fields in step with the property it stands for; returns the property. */
function refresh(handle: Record<string, unknown>, next: MeterableProperty): MeterableProperty {
  for (const key of Object.keys(handle)) if (typeof handle[key] !== 'function' && !(key in next)) delete handle[key];
  Object.assign(handle, next);
  return next;
}
