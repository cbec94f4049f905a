// The validated, cross-checked config → the engine's Model, once per load. Everything the engine
// needs per request is precomputed here (lookups by slug, counter periods) and frozen, so a decision
// never re-reads the config. The gateway section compiles in compile-gateway.ts.
import { resolve } from 'node:path';
import { PERIODS, type Period } from '../engine/meters/store.js';
import type {
  CompiledFeature,
  CompiledPlan,
  CompiledProperty,
  CompiledSurface,
  DeclaredConsumption,
  LoadedWorkflow,
  Model,
  PemKey,
  PlanValue,
  ResolvedJwtIntegration,
  StoreSettings,
} from '../engine/model.js';
import type { ComponentWorkflow, ProvisioningWorkflow, SurfaceWorkflow } from '../engine/workflows/types.js';
import { compileComponent, hasOperations } from './components.js';
import type { Templates } from './templates.js';
import type { PaywallLinks } from '../engine/model.js';
import type { PaywallConfig, ConfigFile, ConsumeItemConfig, FeatureConfig, JwtIntegrationConfig, MeterConfig, PlanValueConfig, StoreConfig } from './schema.js';

export interface LoadedResources {
  /** Directory of the YAML file: workflow paths are relative to it. */
  baseDir: string;
  /** Loaded workflows by absolute path. */
  workflows: ReadonlyMap<string, LoadedWorkflow<unknown>>;
  /** PEM keys per JWT integration, same order as `jwt.integrations`. */
  pemKeys: readonly (readonly PemKey[])[];
  /** `anonymousIds` was filled in with the `--dev` key, not read from the file. */
  devAnonymousIdKey: boolean;
  /** Every template the config names, compiled (config/templates.ts). */
  templates: Templates;
}

/** Freezes plain objects and arrays all the way down (Maps and functions are left as they are). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Map) && !(value instanceof Set)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const NON_METERABLE_FALLBACK = { boolean: false, number: null, string: null } as const;

function compileFeature(slug: string, feature: FeatureConfig): CompiledFeature {
  const featureId = feature.featureId ?? `feat_${slug}`;
  const declared = feature.properties ?? {};
  const enabled = declared.enabled ?? { type: 'meterable' as const };
  const properties: CompiledProperty[] = [['enabled', enabled] as const, ...Object.entries(declared).filter(([p]) => p !== 'enabled')].map(([p, prop]) => ({
    slug: p,
    key: `${slug}.${p}`,
    type: prop.type,
    fallback: prop.type === 'meterable' ? 'off' : (prop.fallback ?? NON_METERABLE_FALLBACK[prop.type]),
    conflict: prop.conflict ?? 'highest',
    counterId: prop.type === 'meterable' ? (prop.counterId ?? `default:${featureId}.${p}`) : '',
  }));
  return { slug, featureId, name: feature.name ?? slug, properties };
}

function compilePlanValue(value: PlanValueConfig, meterable: boolean): PlanValue {
  if (meterable && value === 'on') return { kind: 'on' };
  if (meterable && value === 'off') return { kind: 'off' };
  if (meterable && value !== null && typeof value === 'object') {
    const meter = value as MeterConfig;
    return {
      kind: 'metered',
      limit: meter.limit,
      period: meter.period,
      uniqueResources: meter.uniqueResources ?? false,
      allowPartial: meter.allowPartialConsumption ?? false,
    };
  }
  return { kind: 'scalar', value: value as boolean | number | string | null };
}

export function toConsumption(item: ConsumeItemConfig): DeclaredConsumption {
  const [ref, units] = typeof item === 'string' ? [item, 1] : [item.property, item.units ?? 1];
  const [feature, property] = ref.split('.');
  return { feature, property, units };
}

/** Per counter, every period some plan meters it with (in PERIODS order); lifetime when none does. */
function counterUsage(features: readonly CompiledFeature[], plans: readonly CompiledPlan[]): { periods: Map<string, readonly Period[]>; unique: Set<string> } {
  const used = new Map<string, Set<Period>>();
  const unique = new Set<string>();
  for (const feature of features) {
    for (const prop of feature.properties) {
      if (prop.type !== 'meterable') continue;
      const periods = used.get(prop.counterId) ?? new Set<Period>();
      used.set(prop.counterId, periods);
      for (const plan of plans) {
        const value = plan.values.get(`${feature.slug}.${prop.slug}`);
        if (value?.kind !== 'metered') continue;
        periods.add(value.period);
        if (value.uniqueResources) unique.add(prop.counterId);
      }
    }
  }
  const periods = new Map<string, readonly Period[]>();
  for (const [counterId, set] of used) periods.set(counterId, Object.freeze(set.size === 0 ? ['lifetime' as const] : PERIODS.filter((p) => set.has(p))));
  return { periods, unique };
}

/** The key sources collapse into `pemKeys` (read and checked by the loader), `secret` and `jwksUrl`. */
function jwtIntegration(integration: JwtIntegrationConfig, pemKeys: readonly PemKey[]): ResolvedJwtIntegration {
  const { publicKey: _inline, publicKeyFile: _file, publicKeys: _list, ...settings } = integration;
  return { ...settings, pemKeys };
}

/** An empty url (`url: "${REDIS_URL:-}"`) means no Redis: the store section then describes memory only. */
function storeSettings(store: StoreConfig): StoreSettings {
  const { redis, failurePolicy, anonymousRetentionDays, memoryMaxVisitors, grants } = store;
  const settings: StoreSettings = { failurePolicy, anonymousRetentionDays, memoryMaxVisitors, grants };
  if (redis && (redis.url || redis.sentinels || redis.cluster)) settings.redis = redis;
  return settings;
}

function paywallLinks(paywall: PaywallConfig): PaywallLinks {
  const links: PaywallLinks = { returnParam: paywall.returnParam };
  if (paywall.loginUrl !== undefined) links.loginUrl = paywall.loginUrl;
  if (paywall.plansUrl !== undefined) links.plansUrl = paywall.plansUrl;
  return links;
}

export function compile(config: ConfigFile, file: string, resources: LoadedResources): Model {
  const workflow = <F>(path: string | undefined): LoadedWorkflow<F> | undefined => {
    if (path === undefined) return undefined;
    const loaded = resources.workflows.get(resolve(resources.baseDir, path));
    if (!loaded) throw new Error(`internal: workflow ${path} was not loaded before compile`);
    return loaded as LoadedWorkflow<F>;
  };

  const features = Object.entries(config.features).map(([slug, f]) => compileFeature(slug, f));
  const featureBySlug = new Map(features.map((f) => [f.slug, f]));
  const plans: CompiledPlan[] = Object.entries(config.plans).map(([slug, plan], index) => {
    const values = new Map<string, PlanValue>();
    for (const [feature, props] of Object.entries(plan.features ?? {})) {
      for (const [prop, value] of Object.entries(props)) {
        const meterable = featureBySlug.get(feature)?.properties.find((p) => p.slug === prop)?.type === 'meterable';
        values.set(`${feature}.${prop}`, deepFreeze(compilePlanValue(value, meterable)));
      }
    }
    return { slug, name: plan.name ?? slug, index, assign: plan.assign ?? 'none', values };
  });
  const { periods, unique } = counterUsage(features, plans);

  const surfaces = new Map<string, CompiledSurface>();
  for (const [slug, surface] of Object.entries(config.surfaces)) {
    surfaces.set(slug, {
      slug,
      workflow: workflow<SurfaceWorkflow>(surface.workflow),
      consume: (surface.consume ?? []).map(toConsumption),
      components: Object.entries(surface.components ?? {}).map(([c, comp]) =>
        compileComponent(c, comp, ['surfaces', slug, 'components', c], resources.templates, workflow<ComponentWorkflow>(comp.workflow)),
      ),
      declaresComponents: Object.values(surface.components ?? {}).some((comp) => comp.workflow === undefined && hasOperations(comp)),
    });
  }

  const jwtIntegrations = (config.jwt?.integrations ?? []).map((integration, i) => jwtIntegration(integration, resources.pemKeys[i] ?? []));

  const model: Model = {
    file,
    features,
    featureBySlug,
    plans,
    planBySlug: new Map(plans.map((p) => [p.slug, p])),
    autoPlans: { anonymous: plans.filter((p) => p.assign === 'anonymous'), authenticated: plans.filter((p) => p.assign === 'authenticated') },
    counterPeriods: periods,
    uniqueCounters: unique,
    provisioning: {
      workflows: (config.provisioning?.workflows ?? []).map((w) => workflow<ProvisioningWorkflow>(w)!),
      rules: config.provisioning?.rules ?? [],
    },
    surfaces,
    paywall: paywallLinks(config.paywall!),
    jwtIntegrations,
    apiKeys: config.apiKeys ?? [],
    api: config.api!,
    anonymousIds: config.anonymousIds && { keys: config.anonymousIds.keys, dev: resources.devAnonymousIdKey },
    corsOrigins: config.cors?.origins ?? [],
    store: storeSettings(config.store!),
    workflowTimeoutMs: config.workflows!.timeoutMs,
    server: config.server!,
    newAnonymousIds: config.gateway?.newAnonymousIds,
  };
  for (const feature of features) deepFreeze(feature);
  for (const surface of surfaces.values()) deepFreeze(surface);
  return deepFreeze(model);
}
