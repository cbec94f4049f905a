// The runtime model: the config compiled once into immutable, ready-to-use structures. Built by
// src/config/compile.ts; read by the engine on every decision, never re-parsed.
import type { ApiKeyConfig, GatewayConfig, JwtIntegrationConfig, ProvisioningRuleConfig, RouteConfig, ServerConfig, StoreConfig } from '../config/schema.js';
import type { ComponentWorkflow, ProvisioningWorkflow, SurfaceWorkflow } from './workflows/types.js';
import type { MeterLimit, Period } from './meters/store.js';

export type PropertyType = 'boolean' | 'number' | 'string' | 'meterable';
export type Conflict = 'highest' | 'lowest';

export interface CompiledProperty {
  slug: string;
  /** `feature.property`: the key of plan values and resolved values. */
  key: string;
  type: PropertyType;
  /** Non-meterable fallback (false, null, null by default); meterable fallback is always `off`. */
  fallback: boolean | number | string | null;
  conflict: Conflict;
  /** Meterable only: `default:<featureId>.<slug>` unless declared. */
  counterId: string;
}

export interface CompiledFeature {
  slug: string;
  featureId: string;
  name: string;
  /** `enabled` first, then declaration order. */
  properties: readonly CompiledProperty[];
}

export type MeterableValue = { kind: 'off' } | { kind: 'on' } | ({ kind: 'metered' } & MeterLimit);
export type PlanValue = MeterableValue | { kind: 'scalar'; value: boolean | number | string | null };

export interface CompiledPlan {
  slug: string;
  name: string;
  /** Declaration order; string conflicts use it. */
  index: number;
  assign: 'anonymous' | 'authenticated' | 'none';
  /** Key `feature.property`. */
  values: ReadonlyMap<string, PlanValue>;
}

export interface LoadedWorkflow<F> {
  file: string;
  run: F;
}

export interface DeclaredConsumption {
  feature: string;
  property: string;
  units: number;
}

export interface CompiledComponent {
  slug: string;
  selector: string;
  workflow?: LoadedWorkflow<ComponentWorkflow>;
}

export interface CompiledSurface {
  slug: string;
  workflow?: LoadedWorkflow<SurfaceWorkflow>;
  consume: readonly DeclaredConsumption[];
  components: readonly CompiledComponent[];
}

export interface CompiledRoute extends RouteConfig {
  index: number;
  /** Pattern segments, lowercased unless matching is case-sensitive. */
  segments: readonly string[];
  requireRef?: DeclaredConsumption;
  consumeRefs: readonly DeclaredConsumption[];
  /** The route requires or consumes something (declared on it or its surface): prefetches of it are refused. */
  guarded: boolean;
}

export interface Model {
  /** Absolute path of the YAML file. */
  file: string;
  features: readonly CompiledFeature[];
  featureBySlug: ReadonlyMap<string, CompiledFeature>;
  plans: readonly CompiledPlan[];
  planBySlug: ReadonlyMap<string, CompiledPlan>;
  autoPlans: { anonymous: readonly CompiledPlan[]; authenticated: readonly CompiledPlan[] };
  /** Every period any plan uses per counter (sorted, at least `lifetime` when no plan meters it). */
  counterPeriods: ReadonlyMap<string, readonly Period[]>;
  /** Counters with at least one `uniqueResources` meter: their resources are hashed and recorded. */
  uniqueCounters: ReadonlySet<string>;
  provisioning: { workflows: readonly LoadedWorkflow<ProvisioningWorkflow>[]; rules: readonly ProvisioningRuleConfig[] };
  surfaces: ReadonlyMap<string, CompiledSurface>;
  jwtIntegrations: readonly ResolvedJwtIntegration[];
  apiKeys: readonly ApiKeyConfig[];
  corsOrigins: readonly string[];
  store: StoreConfig & { failurePolicy: 'open' | 'closed'; anonymousRetentionDays: number; memoryMaxVisitors: number };
  workflowTimeoutMs: number;
  server: ServerConfig;
  gateway?: GatewayConfig & { compiledRoutes: readonly CompiledRoute[] };
}

/** A JWT integration with its key material read from files and checked at load time. */
export interface ResolvedJwtIntegration extends JwtIntegrationConfig {
  /** PEM keys (inline, `publicKey`, `publicKeyFile`, `publicKeys[].file` all end up here). */
  pemKeys: readonly { pem: string; kid?: string }[];
}
