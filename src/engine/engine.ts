// The engine's public face: one object per loaded config, shared by the gateway, the API and the CLI.
// Built by createEngine() in ./create-engine.ts.
import type { EventCode, EventLogger } from '../events.js';
import type { ResolvedIdentity, SurfaceDecision, AccessCheck } from './types.js';
import type { CompiledComponent, DeclaredConsumption, Model } from './model.js';
import type { TemplateValues } from './types.js';
import type { MeterStore } from './meters/store.js';
import type { JwtVerifier } from './identity/jwt-verifier.js';
import type { AnonymousIds } from './identity/anonymous-ids.js';
import type { DecisionLoad } from './load.js';
import type { NewIdBudget } from './identity/new-ids.js';
import type { Visitor } from './meters/store.js';
import type { EngineAdmin } from './admin.js';
import type { DecisionTrace } from './trace.js';

/** Exactly one of the identity modes (docs/concepts.md "Identity"); the API passes the request body's object as is. */
export interface IdentityInput {
  anonymousIdentifier?: string;
  userJwt?: string;
  userIdentifier?: string;
  createAnonymousIdentifier?: boolean;
  createAnonymousIdentifierFallback?: boolean;
}

export interface DecisionRequest {
  surfaceSlug: string;
  /** Raw identity input (validated and resolved by the engine) or an identity already resolved by the caller (gateway). */
  identity: IdentityInput | { resolved: ResolvedIdentity };
  /** Whether the caller holds a secret key (userIdentifier is allowed only then). */
  trusted: boolean;
  resource?: { id?: string; meta?: Record<string, unknown>; [extra: string]: unknown };
  context?: Record<string, unknown>;
  dryRun?: boolean;
  /** Gateway routes: a requirement and a declared consumption in addition to the surface's `consume`, and the route's declared components. */
  route?: { require?: DeclaredConsumption; consume: readonly DeclaredConsumption[]; components?: readonly CompiledComponent[] };
  /** Injected clock (tests). */
  now?: number;
  /** Filled in with what each step did (explain); absent on the request path. */
  trace?: DecisionTrace;
}

export interface DecisionOutcome {
  decision: SurfaceDecision;
  /** The route's requirement failed or the declared consumption was refused: nothing was consumed. */
  denied: boolean;
  denialReason?: 'requirement' | 'consumption';
  /** The route's or surface's property that refused the request. */
  deniedBy?: { feature: string; property: string };
  /**
   * Whether the request recorded usage (consumed or counted units, declared or by a workflow); for a
   * dry run, whether the same request for real would have. The gateway refuses such prefetches.
   */
  recordsUsage: boolean;
  /** Plan slugs in effect, in config order. */
  plans: readonly string[];
  /** What paywall pages and declared components are rendered with: present when denied or when components are declared. */
  templateValues?: TemplateValues;
}

export interface EngineOptions {
  model: Model;
  store: MeterStore;
  verifier: JwtVerifier;
  logger?: EventLogger;
  /** What workflows get as `env`. Nothing is read from the process: the caller passes it (the runtime passes process.env). */
  env?: Record<string, string | undefined>;
  /** The process's count of decisions in progress (kept across reloads); a fresh one when absent. */
  load?: DecisionLoad;
  /** The process's counts of new anonymous ids allowed and refused (kept across reloads). */
  newIds?: NewIdBudget;
}

/** The engine: one object per loaded config, called by the gateway, the API, the ops port and the CLI. */
export interface Engine {
  readonly model: Model;
  /** The JWT verifier (with its cache) built for this model; the gateway verifies cookies and Bearer tokens with it. */
  readonly verifier: JwtVerifier;
  /** Signs and verifies anonymous ids under the config's `anonymousIds` keys (the gateway's cookie); undefined without keys. */
  readonly anonymousIds: AnonymousIds | undefined;
  readonly store: MeterStore;
  decide(request: DecisionRequest): Promise<DecisionOutcome>;
  checkAccess(request: Omit<DecisionRequest, 'surfaceSlug' | 'route'>): Promise<AccessCheck>;
  /** counter-updates: `update` is a non-zero integer within ±MAX_UNITS_PER_CALL; counters stay within 0..MAX_COUNTER_VALUE. Throws `unknown-counter`. */
  updateCounter(request: { identity: IdentityInput; counterId: string; update: number; resourceId?: string; now?: number }): Promise<void>;
  resolveIdentity(input: IdentityInput, trusted: boolean): Promise<ResolvedIdentity>;
  /** Whose counters and grants an identity names (trusted: any identifier; a signed anonymous id counts under its inner id). */
  visitorOf(input: IdentityInput): Promise<Visitor>;
  /** Grants, meters and forgetting (docs/admin.md); the admin API and the CLI call these. */
  readonly admin: EngineAdmin;
  /** Events so far, by code (tests and diagnostics). */
  eventCounts(): ReadonlyMap<EventCode, number>;
  /**
   * Whether the gateway may mint one more anonymous id for the network with this keyed id
   * (`gateway.newAnonymousIds`, counted in the store); when not, the visitor is metered by network.
   */
  newAnonymousIdAllowed(networkId: string): Promise<boolean>;
}
