// The engine's model: everything a decision reads, immutable and ready to use. The engine owns these
// types; src/config/compile.ts maps the validated YAML file onto them once per load, so nothing here
// depends on the file format, and a decision never re-parses anything.
import type { ComponentWorkflow, ProvisioningWorkflow, SurfaceWorkflow } from './workflows/types.js';
import type { MeterLimit, Period } from './meters/store.js';
import type { RedisSettings } from './meters/redis-connection.js';
import type { AnonymousIdKey } from './identity/anonymous-ids.js';
import type { NewIdSettings } from './identity/new-ids.js';
import type { TemplateValues } from './types.js';

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
  /** Declared in YAML (no workflow): applied when `when` holds, with its templates rendered. */
  declared?: DeclaredComponent;
}

/** A template compiled once at load (src/config/templates.ts): rendering reads no file and parses nothing. */
export interface CompiledTemplate {
  /** The file, or the key path of inline HTML (for messages). */
  source: string;
  /** The file it was read from (a reload watches it); absent for inline HTML. */
  file?: string;
  /** Paywall pages also get `status` and `path`. */
  render(values: TemplateValues & { status?: number; path?: string }): string;
}

/** When a declared component applies: every condition given must hold (docs/components.md "Components in YAML"). */
export interface ComponentCondition {
  /** true: denied for any reason; false: not denied; or the one reason. */
  denied?: boolean | 'consumption' | 'requirement';
  /** A feature property's value (a meterable one: whether the visitor has access). */
  property?: { feature: string; property: string; equals: boolean | number | string | null };
  /** The metered feature's remaining units are below this number (never true without a meter). */
  remainingBelow?: number;
  /** The visitor has at least one of these plans. */
  plans?: readonly string[];
  /** The visitor has none of these plans. */
  withoutPlans?: readonly string[];
}

/** A declared component's operations, each insertion a template (rendered as HTML). */
export interface DeclaredContent {
  before?: readonly CompiledTemplate[];
  prepend?: readonly CompiledTemplate[];
  append?: readonly CompiledTemplate[];
  after?: readonly CompiledTemplate[];
  remove?: boolean;
  replaceRange?: { fromMarker?: string; toMarker?: string; replaceWith?: readonly CompiledTemplate[] };
}

export interface DeclaredComponent {
  when: ComponentCondition;
  content: DeclaredContent;
}

/** Where paywall pages and components send readers; the return path is added under `returnParam`. */
export interface PaywallLinks {
  loginUrl?: string;
  plansUrl?: string;
  returnParam: string;
}

export interface CompiledSurface {
  slug: string;
  workflow?: LoadedWorkflow<SurfaceWorkflow>;
  consume: readonly DeclaredConsumption[];
  components: readonly CompiledComponent[];
  /** Some component is declared in YAML: the template values are built for every decision. */
  declaresComponents: boolean;
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
  provisioning: { workflows: readonly LoadedWorkflow<ProvisioningWorkflow>[]; rules: readonly ProvisioningRule[] };
  surfaces: ReadonlyMap<string, CompiledSurface>;
  /** The sign-in and plans pages paywalls and components link to. */
  paywall: PaywallLinks;
  jwtIntegrations: readonly ResolvedJwtIntegration[];
  apiKeys: readonly ApiKey[];
  /** Whether the API's anonymous ids are signed (see docs/api.md). */
  api: { anonymousIds: 'signed' | 'unsigned'; adminOnGatewayMount: boolean };
  /** The keys anonymous ids are signed with (current first); absent when the config declares none. */
  anonymousIds?: { keys: readonly AnonymousIdKey[]; /** A development key generated by `--dev`, not configured. */ dev: boolean };
  corsOrigins: readonly string[];
  store: StoreSettings;
  workflowTimeoutMs: number;
  server: ServerSettings;
  /** The budget of new anonymous ids the gateway may mint (from `gateway.newAnonymousIds`); absent without a gateway. */
  newAnonymousIds?: NewIdSettings;
}

/** A declarative provisioning rule: one claim test (exactly one of equals, oneOf, exists) → plans. */
export interface ProvisioningRule {
  claim: string;
  equals?: string | number | boolean | null;
  oneOf?: readonly (string | number | boolean)[];
  exists?: boolean;
  plans: readonly string[];
}

/** A decision API key: `sk_...` (secret) or `pk_...` (publishable). */
export interface ApiKey {
  key: string;
  name?: string;
  /** `admin`: the admin endpoints (docs/admin.md). */
  scopes?: readonly 'admin'[];
}

export interface StoreSettings {
  /** Absent: the in-memory store. */
  redis?: RedisSettings;
  failurePolicy: 'open' | 'closed';
  anonymousRetentionDays: number;
  memoryMaxVisitors: number;
  /** Whether decisions read plan grants (docs/admin.md), in their one store call. */
  grants: boolean;
}

export interface ServerSettings {
  api: { host: string; port: number; mountPath?: string };
  ops: { host: string; port: number };
  maxBodyBytes: number;
  /** Decisions in progress past which one more is refused (load shedding). */
  maxPendingDecisions: number;
  /** Gateway worker processes on this host (`plangate gateway`; the engine itself never forks). */
  workers: number;
}

/** How one JWT integration verifies tokens (docs/jwt.md); its keys were read and checked at load. */
export interface ResolvedJwtIntegration {
  name: string;
  algorithms: readonly string[];
  /** The claim whose value is the identifier (default `sub`). */
  claimKey?: string;
  issuer?: string;
  audience?: string | readonly string[];
  clockToleranceSeconds?: number;
  requiredClaims?: readonly string[];
  maxTokenAgeSeconds?: number;
  /** Identifiers become `<namespace>:<claim value>`. */
  identifierNamespace?: string;
  jwksUrl?: string;
  jwks?: { cooldownMs: number; maxAgeMs: number; timeoutMs: number };
  /** An HMAC secret (UTF-8). */
  secret?: string;
  /** PEM public keys, from every form the config allows (inline, files, a kid list). */
  pemKeys: readonly PemKey[];
}

export interface PemKey {
  pem: string;
  kid?: string;
}
