// The decision pipeline (docs/concepts.md "The decision pipeline"), one request:
// identity → plans → features → one store call (declared consumption) → surface workflow →
// component workflows → the decision. Enforcement is the caller's (gateway or API).
import { randomUUID } from 'node:crypto';
import type { EventLogger } from '../events.js';
import type { DecisionOutcome, DecisionRequest } from './engine.js';
import { checkComponentBehaviors, checkHttpBehavior, type OutputProblem } from './components/check-output.js';
import { EngineError } from './errors.js';
import { buildFeatures, workflowFeatures, type MeterOperations } from './features.js';
import { resolved, resolveIdentity, testGroup100, type IdentityDeps } from './identity/resolve.js';
import { RequestMeters } from './meters/request-meters.js';
import { evaluateCall } from './meters/semantics.js';
import type { ConsumeSpec, Grant, MeterCall, MeterCallResult, MeterStore, Visitor } from './meters/store.js';
import { activeGrants, assumption, type GrantCache } from './grants.js';
import type { DecisionTrace } from './trace.js';
import { MAX_UNITS_PER_CALL, StoreUnavailableError } from './meters/store.js';
import type { CompiledComponent, CompiledSurface, DeclaredConsumption, Model } from './model.js';
import type { PlanResolver, ResolvedPlanValues } from './plans.js';
import { plansFromRules, plansFromWorkflows } from './provisioning.js';
import type {
  AccessCheck,
  ComponentBehavior,
  Customer,
  MeterableProperty,
  PlanSource,
  ResolvedIdentity,
  SurfaceBehavior,
  SurfaceDecision,
} from './types.js';
import { Revocation, runWorkflow } from './workflows/run.js';
import type { SurfaceInput, WorkflowIdentity } from './workflows/types.js';
import { declaredBehavior } from './declared-components.js';
import { localReturnPath, templateValues, type TemplateValues } from './template-values.js';

/** One store call's verdict: whether the requirement held, the index of the first refused consumption, and whether the visitor's grants changed (call again). */
interface StoreAnswer {
  requirementMet: boolean;
  refused: number | undefined;
  grantsChanged?: boolean;
}

export interface EngineContext {
  model: Model;
  store: MeterStore;
  identity: IdentityDeps;
  resolver: PlanResolver;
  /** Each visitor's grants as this process last saw them (only read when `store.grants` is on). */
  grants: GrantCache;
  logger?: EventLogger;
  env: Record<string, string | undefined>;
}

/** A store call that finds other grants than assumed is made again, at most this many times in all. */
const GRANT_ATTEMPTS = 3;

const NOT_A_CUSTOMER: Customer = Object.freeze({ isCustomer: false, hasProducts: false, customerIdentifiers: [] as string[] }) as Customer;
const NONE: readonly string[] = [];
const NONE_GRANTED: readonly Grant[] = [];
/** Replaced in `start` before any use: a shared placeholder, so no decision allocates one. */
const NO_VALUES: ResolvedPlanValues = new Map();

/** What the declared consumption of a request decided (step 4): whether it may proceed, and if not why. */
export interface Gate {
  allowed: boolean;
  reason?: 'requirement' | 'consumption';
  /** The declared property that refused the request. */
  refusedBy?: DeclaredConsumption;
}

/** Step 4's input: what the route and surface declare, and whether it is a dry run. */
export interface DeclaredStep {
  /** Route and surface consumption; a counter named twice is consumed once. */
  declared: readonly DeclaredConsumption[];
  /** The route's requirement, judged before anything is consumed. */
  requirement?: DeclaredConsumption;
  dryRun: boolean;
}

/** The decision head every answer starts with (a surface decision adds the surface's behavior). */
type DecisionHead = Pick<AccessCheck, 'status' | 'eventId' | 'identity' | 'customer' | 'features'>;

/**
 * One request in the engine, from its resolved identity and plans to its decision head: what the
 * request knows (identity, plans, values, meters) and the steps that act on it. Made by
 * `DecisionRun.start` for a surface decision and for an access check alike.
 */
export class DecisionRun {
  #workflowIdentity: WorkflowIdentity | undefined;

  plans: readonly string[] = NONE;
  customer: Customer = NOT_A_CUSTOMER;
  values: ResolvedPlanValues = NO_VALUES;
  meters!: RequestMeters;
  /** The grants the plans were resolved with (assumed until the store call confirms them). */
  grants: readonly Grant[] = NONE_GRANTED;
  /** Explain's record of this decision, when asked for. */
  trace: DecisionTrace | undefined;
  /** Whether the next store call still has to read the grants (the first call of a decision, when `store.grants` is on). */
  private grantsUnread: boolean;

  private constructor(
    private readonly ctx: EngineContext,
    readonly identity: ResolvedIdentity,
    /** Whose counters the store reads and writes. */
    readonly visitor: Visitor,
    /** Plans from the rules and from the workflows (a slug may repeat). */
    private readonly provisioned: { rules: readonly string[]; workflows: readonly string[] },
    private readonly resourceId: string | undefined,
    readonly now: number,
  ) {
    this.grantsUnread = ctx.model.store.grants;
  }

  /** Steps 1 to 3: identity, plans (automatic, provisioned and granted), the values they resolve to. */
  static async start(ctx: EngineContext, request: Omit<DecisionRequest, 'surfaceSlug'>): Promise<DecisionRun> {
    const now = request.now ?? Date.now();
    const { identity, visitor } =
      'resolved' in request.identity ? resolved(request.identity.resolved) : await resolveIdentity(request.identity, request.trusted, ctx.identity);
    let built: WorkflowIdentity | undefined;
    const workflowIdentity = (): WorkflowIdentity => (built ??= workflowIdentityOf(identity, visitor));
    const { rules, workflows } = ctx.model.provisioning;
    const fromRules = rules.length > 0 ? plansFromRules(rules, identity.jwtClaims) : NONE;
    const provisioningStarted = request.trace === undefined ? 0 : performance.now();
    const fromWorkflows = workflows.length > 0 ? await plansFromWorkflows(ctx.model, workflowIdentity, ctx.env, ctx.logger) : NONE;
    if (request.trace !== undefined && workflows.length > 0) {
      const ms = performance.now() - provisioningStarted;
      request.trace.workflows.push({ kind: 'provisioning', file: workflows.map((w) => w.file).join(', '), ms, ok: true });
    }
    const resourceId = typeof request.resource?.id === 'string' ? request.resource.id : undefined;
    const run = new DecisionRun(ctx, identity, visitor, { rules: fromRules, workflows: fromWorkflows }, resourceId, now);
    run.trace = request.trace;
    if (request.trace !== undefined) request.trace.identity = identity;
    run.resolvePlans(ctx.model.store.grants ? activeGrants(ctx.grants.assumed(visitor), now) : NONE_GRANTED);
    run.#workflowIdentity = built;
    return run;
  }

  /** Step 2 and 3 for a set of grants: the plans in effect, the customer, the values; fresh meters. */
  private resolvePlans(grants: readonly Grant[]): void {
    const { ctx, provisioned } = this;
    let extra: readonly string[] = provisioned.rules;
    if (provisioned.workflows.length > 0) extra = [...extra, ...provisioned.workflows];
    // A grant of a plan the config no longer declares is kept in the store but has no effect.
    const granted = grants.length === 0 ? NONE : grants.map((g) => g.plan).filter((slug) => ctx.model.planBySlug.has(slug));
    if (granted.length > 0) extra = [...extra, ...granted];
    const planSet = ctx.resolver.planSet(this.visitor.userType, extra);
    this.grants = grants;
    this.plans = planSet.slugs;
    this.values = planSet.values;
    this.customer = extra.length > 0 ? { isCustomer: true, hasProducts: true, customerIdentifiers: [] } : { ...NOT_A_CUSTOMER, customerIdentifiers: [] };
    this.meters = new RequestMeters(ctx.model, this.now, this.resourceId);
  }

  /** Every plan in effect with its sources (in plan order): what `decision.plans` and explain show. */
  planSources(): PlanSource[] {
    const { model } = this.ctx;
    const auto = new Set(model.autoPlans[this.visitor.userType].map((p) => p.slug));
    const sources: PlanSource[] = [];
    for (const plan of this.plans) {
      if (auto.has(plan)) sources.push({ plan, source: 'automatic' });
      if (this.provisioned.rules.includes(plan)) sources.push({ plan, source: 'rule' });
      if (this.provisioned.workflows.includes(plan)) sources.push({ plan, source: 'workflow' });
      const grant = this.grants.find((g) => g.plan === plan);
      if (grant !== undefined) sources.push(grant.expiresAt === null ? { plan, source: 'grant' } : { plan, source: 'grant', expiresAt: new Date(grant.expiresAt).toISOString() });
    }
    return sources;
  }

  /** Built on first use: only requests that run a workflow pay for the test-group hash. */
  workflowIdentity(): WorkflowIdentity {
    return (this.#workflowIdentity ??= workflowIdentityOf(this.identity, this.visitor));
  }

  /** Whether the store failed during this request (the failure policy then applied). */
  get degraded(): boolean {
    return this.meters.degraded;
  }

  /** The one place the decision head is built: status, a fresh event id, identity, customer, features. */
  head(): DecisionHead {
    return {
      status: 'success',
      eventId: randomUUID(),
      identity: this.identity,
      customer: this.customer,
      features: buildFeatures(this.ctx.model, this.values, this.meters),
    };
  }

  /** The extra fields of a decision: `degraded` when the store failed, `plans` when the config reads grants. */
  extras(into: { degraded?: true; plans?: PlanSource[] }, failed = false): void {
    if (this.degraded || failed) into.degraded = true;
    if (this.ctx.model.store.grants) into.plans = this.planSources();
    if (this.trace !== undefined) {
      this.trace.plans = this.planSources();
      const counters = new Map(this.ctx.model.features.flatMap((f) => f.properties.map((p) => [p.key, p.counterId] as const)));
      this.trace.values = [...this.values].map(([property, { plan, value }]) => ({ property, plan, value, counterId: counters.get(property) }));
    }
  }

  /**
   * Step 4: read every meter and apply the declared consumption (route + surface, each counter once),
   * all or nothing, only if the route's requirement holds on the state before consumption. One store
   * call at most.
   */
  async applyDeclared(step: DeclaredStep): Promise<Gate> {
    for (let attempt = 1; ; attempt++) {
      const gate = await this.applyDeclaredOnce(step, attempt === GRANT_ATTEMPTS);
      if (gate === 'grants-changed') continue;
      if (this.trace !== undefined) this.trace.gate = gate;
      return gate;
    }
  }

  private async applyDeclaredOnce({ declared, requirement, dryRun }: DeclaredStep, lastAttempt: boolean): Promise<Gate | 'grants-changed'> {
    const { model } = this.ctx;
    const counters = meteredCounters(model, this.values);
    let preconditionFailed: Gate | undefined;
    let require: MeterCall['require'];
    if (requirement !== undefined) {
      const value = this.values.get(`${requirement.feature}.${requirement.property}`)?.value;
      if (value?.kind === 'metered')
        require = [{ counterId: counterOf(model, requirement), limit: value.limit, period: value.period, uniqueResources: value.uniqueResources }];
      else if (!(value?.kind === 'on' || (value?.kind === 'scalar' && value.value === true)))
        preconditionFailed = { allowed: false, reason: 'requirement', refusedBy: requirement };
    }
    const consume: ConsumeSpec[] = [];
    const consumed: DeclaredConsumption[] = [];
    const seen = new Set<string>();
    for (const item of declared) {
      const counterId = counterOf(model, item);
      if (seen.has(counterId)) continue;
      seen.add(counterId);
      const value = this.values.get(`${item.feature}.${item.property}`)?.value;
      if (value?.kind === 'metered') {
        const { limit, period, uniqueResources, allowPartial } = value;
        consume.push({ counterId, units: item.units, meter: { limit, period, uniqueResources, allowPartial } });
        consumed.push(item);
      } else if (value?.kind === 'on') {
        this.meters.noteConsumption(counterId, { granted: true, units: 0, excess: 0, free: false });
      } else {
        preconditionFailed ??= { allowed: false, reason: 'consumption', refusedBy: item };
      }
    }
    const grants = this.grantsUnread ? assumption(this.grants) : undefined;
    if (preconditionFailed !== undefined) {
      if (counters.size > 0 || grants !== undefined) {
        const read = await this.callStore({ counters: [...counters].map((id) => this.meters.spec(id)), consume: [], dryRun: true, grants }, lastAttempt);
        if (read.grantsChanged) return 'grants-changed';
      }
      return preconditionFailed;
    }
    if (counters.size === 0 && grants === undefined) return { allowed: true };
    const result = await this.callStore({ counters: [...counters].map((id) => this.meters.spec(id)), require, consume, dryRun, grants }, lastAttempt);
    if (result.grantsChanged) return 'grants-changed';
    if (!result.requirementMet) return { allowed: false, reason: 'requirement', refusedBy: requirement };
    return result.refused === undefined ? { allowed: true } : { allowed: false, reason: 'consumption', refusedBy: consumed[result.refused] };
  }

  /**
   * Runs one store call and folds its result into the request's meters; applies the failure policy when
   * the store cannot answer. A call that reads grants and finds others than assumed re-resolves the
   * plans and answers `grantsChanged` (nothing was recorded): the caller makes its call again.
   */
  private async callStore(call: Omit<MeterCall, 'visitor' | 'now'>, lastAttempt = false): Promise<StoreAnswer> {
    const { ctx, meters } = this;
    const open = ctx.model.store.failurePolicy === 'open';
    if (meters.degraded) {
      // The store already failed during this request: apply the policy without waiting on it again.
      return this.applyFailurePolicy(call, open);
    }
    try {
      // Written out field by field, not spread: one object shape for every call.
      const fullCall: MeterCall = {
        visitor: this.visitor,
        now: this.now,
        counters: call.counters,
        require: call.require,
        consume: call.consume,
        dryRun: call.dryRun,
      };
      if (call.grants !== undefined) fullCall.grants = call.grants;
      let result = this.trace === undefined ? await ctx.store.run(fullCall) : await this.tracedRun(fullCall);
      if (result.grants !== undefined) {
        ctx.grants.learn(this.visitor, result.grants);
        if (result.grantsChanged === true) {
          if (lastAttempt) throw new StoreUnavailableError('store-error', `the grants of this visitor changed during ${GRANT_ATTEMPTS} store calls in a row`);
          this.resolvePlans(result.grants);
          return { requirementMet: false, refused: 0, grantsChanged: true };
        }
        this.grantsUnread = false;
      }
      if (call.dryRun && call.consume.length > 0) {
        // Judge again with this request's own dry consumption counted, as the real run would see it.
        const { requirementMet, consumed } = evaluateCall(fullCall, meters.withOwnUsage(result.readings));
        result = { readings: result.readings, requirementMet, consumed };
      }
      meters.absorb(result, call.consume, call.dryRun);
      let refused: number | undefined;
      for (let i = 0; i < result.consumed.length; i++) if (!result.consumed[i].granted) refused ??= i;
      return { requirementMet: result.requirementMet, refused };
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      meters.degraded = true;
      ctx.logger?.event('error', err.code, { message: err.message, policy: ctx.model.store.failurePolicy });
      return this.applyFailurePolicy(call, open);
    }
  }

  /** A store call recorded for explain (its answer, or why there was none, and its time). */
  private async tracedRun(call: MeterCall): Promise<MeterCallResult> {
    const { visitor: _visitor, ...asked } = call;
    const started = performance.now();
    try {
      const result = await this.ctx.store.run(call);
      this.trace!.storeCalls.push({ call: asked, result, ms: performance.now() - started });
      return result;
    } catch (err) {
      this.trace!.storeCalls.push({ call: asked, error: err instanceof Error ? err.message : String(err), ms: performance.now() - started });
      throw err;
    }
  }

  /** runWorkflow, timed for explain when traced. */
  private async timedWorkflow<T>(kind: 'surface' | 'component', file: string, work: () => Promise<T & { ok: boolean }>): Promise<T & { ok: boolean }> {
    if (this.trace === undefined) return work();
    const started = performance.now();
    const outcome = await work();
    this.trace.workflows.push({ kind, file, ms: performance.now() - started, ok: outcome.ok });
    return outcome;
  }

  /**
   * The store could not answer: the consumption is granted or refused by the policy, records nothing.
   * The policy judges only what the call asked for: a read with no requirement and no consumption is
   * not denied when the store is down (its metered properties carry the policy instead).
   */
  private applyFailurePolicy(call: Omit<MeterCall, 'visitor' | 'now'>, open: boolean): StoreAnswer {
    for (const c of call.consume) this.meters.noteConsumption(c.counterId, { granted: open, units: 0, excess: open ? 0 : c.units, free: false });
    return { requirementMet: open || (call.require ?? []).length === 0, refused: open || call.consume.length === 0 ? undefined : 0 };
  }

  /** What templates and declared components see of this request (only built when something uses it). */
  templateValues(gate: Gate, step: DeclaredStep, request: DecisionRequest, decision: SurfaceDecision): TemplateValues {
    const http = (request.context as { http?: { url?: unknown } } | undefined)?.http;
    return templateValues({
      model: this.ctx.model,
      values: this.values,
      plans: this.plans,
      features: decision.features,
      focus: gate.refusedBy ?? step.declared[0] ?? step.requirement,
      reason: gate.allowed ? undefined : gate.reason,
      returnPath: localReturnPath(http?.url),
      authenticated: this.identity.isAuthenticated,
      properties: decision.surfaceBehavior.properties,
    });
  }

  /** consume() and incrementCounter() of the handles one workflow run gets. */
  private meterOperations(dryRun: boolean, revocation: Revocation): MeterOperations {
    const { model } = this.ctx;
    const operate = async (featureSlug: string, propertySlug: string, units: number, limited: boolean): Promise<MeterableProperty> => {
      revocation.check();
      if (!Number.isInteger(units) || units < 1 || units > MAX_UNITS_PER_CALL)
        throw new TypeError(`units must be a whole number from 1 to ${MAX_UNITS_PER_CALL}, got ${String(units)}`);
      const feature = model.featureBySlug.get(featureSlug)!;
      const property = feature.properties.find((p) => p.slug === propertySlug)!;
      const resolvedValue = this.values.get(`${featureSlug}.${propertySlug}`);
      const value = resolvedValue?.value;
      const metered = value?.kind === 'metered';
      if (metered || !limited) {
        const meter =
          limited && metered ? { limit: value.limit, period: value.period, uniqueResources: value.uniqueResources, allowPartial: value.allowPartial } : null;
        await revocation.inStore(() =>
          this.callStore({ counters: [this.meters.spec(property.counterId)], consume: [{ counterId: property.counterId, units, meter }], dryRun }),
        );
      }
      const open = model.store.failurePolicy === 'open';
      return this.meters.property(property, value?.kind === 'scalar' ? undefined : value, resolvedValue === undefined, open);
    };
    return {
      consume: (f, p, units) => operate(f, p, units, true),
      incrementCounter: (f, p, units) => operate(f, p, units, false),
    };
  }

  /** Steps 5 and 6: the surface workflow, then the component workflows in parallel. */
  async runSurface(surface: CompiledSurface, request: DecisionRequest, dryRun: boolean): Promise<SurfaceRun> {
    const { ctx } = this;
    const timeoutMs = ctx.model.workflowTimeoutMs;
    let failed = false;
    const malformed: OutputProblem[] = [];
    const inputFor = (revocation: Revocation): SurfaceInput => ({
      identity: this.workflowIdentity(),
      features: workflowFeatures(ctx.model, this.values, this.meters, this.meterOperations(dryRun, revocation)),
      resource: request.resource ?? {},
      context: { ...request.context, surfaceSlug: surface.slug, dryRun },
      env: ctx.env,
    });
    const behavior: SurfaceBehavior = {};
    if (surface.workflow !== undefined) {
      const revocation = new Revocation();
      const workflow = surface.workflow;
      const outcome = await this.timedWorkflow('surface', workflow.file, () =>
        runWorkflow(workflow.run, inputFor(revocation), { file: workflow.file, kind: 'surface', timeoutMs, revocation, logger: ctx.logger }),
      );
      if (!outcome.ok) failed = true;
      else if (outcome.value !== undefined && !isPlainObject(outcome.value)) {
        failed = true;
        ctx.logger?.event('error', 'workflow-bad-result', {
          workflow: surface.workflow.file,
          message: 'a surface workflow must return an object { properties?, http? }',
        });
      } else if (outcome.value !== undefined) {
        if (isPlainObject(outcome.value.properties)) behavior.properties = outcome.value.properties;
        const http: unknown = outcome.value.http;
        // Checked before anything uses it: a malformed one is dropped (and so cannot skip the components).
        if (http !== undefined && http !== null) {
          const checked = checkHttpBehavior(http);
          if (checked.ok) behavior.http = checked.value;
          else malformed.push(...checked.problems);
        }
      }
    }
    const components: Record<string, ComponentBehavior> = {};
    if (behavior.http !== undefined && 'body' in behavior.http) return { behavior, componentsSkipped: true, components, failed, malformed };
    await Promise.all(
      surface.components.map(async (component) => {
        const result = componentMetadata(component);
        if (component.workflow !== undefined) {
          const revocation = new Revocation();
          const input = { ...inputFor(revocation), surfaceProperties: behavior.properties ?? {} };
          const workflow = component.workflow;
          const outcome = await this.timedWorkflow('component', workflow.file, () =>
            runWorkflow(workflow.run, input, { file: workflow.file, kind: 'component', timeoutMs, revocation, logger: ctx.logger }),
          );
          if (!outcome.ok) failed = true;
          else if (isPlainObject(outcome.value)) {
            if (isPlainObject(outcome.value.properties)) result.properties = outcome.value.properties;
            if (outcome.value.content !== undefined) result.content = outcome.value.content;
          }
        }
        components[component.slug] = result;
      }),
    );
    const ordered: Record<string, ComponentBehavior> = {};
    for (const component of surface.components) ordered[component.slug] = components[component.slug];
    // A workflow's content (and properties) are checked before they reach a client or the gateway's rewriter.
    const checked = checkComponentBehaviors(ordered);
    malformed.push(...checked.problems);
    return { behavior, componentsSkipped: false, components: checked.componentBehaviors, failed, malformed };
  }
}

function workflowIdentityOf(identity: ResolvedIdentity, visitor: Visitor): WorkflowIdentity {
  return { ...identity, userType: visitor.userType, testGroup100: testGroup100(visitor.identifier) };
}

/** Per resolved plan set (the resolver keeps those): the counters of its metered properties. */
const meteredByValues = new WeakMap<ResolvedPlanValues, ReadonlySet<string>>();

/** Counters of every metered property in effect: one read of each per decision. */
function meteredCounters(model: Model, values: ResolvedPlanValues): ReadonlySet<string> {
  const known = meteredByValues.get(values);
  if (known !== undefined) return known;
  const counters = new Set<string>();
  for (const feature of model.features) {
    for (const property of feature.properties) {
      if (property.type === 'meterable' && values.get(property.key)?.value.kind === 'metered') counters.add(property.counterId);
    }
  }
  meteredByValues.set(values, counters);
  return counters;
}

function counterOf(model: Model, ref: DeclaredConsumption): string {
  return model.featureBySlug.get(ref.feature)!.properties.find((p) => p.slug === ref.property)!.counterId;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the surface and component workflows made of the request (or an empty behavior without any). */
interface SurfaceRun {
  behavior: SurfaceBehavior;
  componentsSkipped: boolean;
  components: Record<string, ComponentBehavior>;
  failed: boolean;
  /** What the workflows returned that the wire format does not allow: dropped, the decision degraded. */
  malformed: readonly OutputProblem[];
}

const NO_CONSUMPTION: readonly DeclaredConsumption[] = [];
const NO_PROBLEMS: readonly OutputProblem[] = [];
const NO_COMPONENTS: readonly CompiledComponent[] = [];

/** Declared components' content (the surface's, then the route's, which replace a surface component of the same slug). */
function applyDeclared(decision: SurfaceDecision, surface: CompiledSurface, route: readonly CompiledComponent[], facts: Parameters<typeof declaredBehavior>[1]): void {
  for (const component of surface.components) if (component.declared !== undefined) decision.componentBehaviors[component.slug] = declaredBehavior(component, facts);
  for (const component of route) decision.componentBehaviors[component.slug] = declaredBehavior(component, facts);
}

/** What every component's behavior carries, workflow or not. */
function componentMetadata(component: CompiledSurface['components'][number]): ComponentBehavior {
  return { metadata: { cssSelector: component.selector } };
}

function runsWorkflows(surface: CompiledSurface): boolean {
  return surface.workflow !== undefined || surface.components.some((component) => component.workflow !== undefined);
}

/** A surface with no workflow anywhere: an empty behavior and each component's metadata (no await). */
function withoutWorkflows(surface: CompiledSurface): SurfaceRun {
  const components: Record<string, ComponentBehavior> = {};
  for (const component of surface.components) components[component.slug] = componentMetadata(component);
  return { behavior: {}, componentsSkipped: false, components, failed: false, malformed: NO_PROBLEMS };
}

export async function decide(ctx: EngineContext, request: DecisionRequest): Promise<DecisionOutcome> {
  const surface = ctx.model.surfaces.get(request.surfaceSlug);
  if (surface === undefined) throw new EngineError('unknown-surface', `unknown surface '${String(request.surfaceSlug)}'`);
  const run = await DecisionRun.start(ctx, request);
  const dryRun = request.dryRun === true;
  const routeConsume = request.route?.consume ?? NO_CONSUMPTION;
  const declared = surface.consume.length === 0 ? routeConsume : [...routeConsume, ...surface.consume];
  const step: DeclaredStep = { declared, requirement: request.route?.require, dryRun };
  const gate = await run.applyDeclared(step);
  // A denied request never consumes: the workflows still run, dry.
  const surfaceRun = runsWorkflows(surface) ? await run.runSurface(surface, request, dryRun || !gate.allowed) : withoutWorkflows(surface);
  const decision = run.head() as SurfaceDecision;
  decision.surfaceBehavior = surfaceRun.behavior;
  decision.componentsSkipped = surfaceRun.componentsSkipped;
  decision.componentBehaviors = surfaceRun.components;
  if (surfaceRun.malformed.length > 0) {
    ctx.logger?.event('error', 'workflow-output-malformed', {
      surface: surface.slug,
      problems: surfaceRun.malformed.map(({ path, message }) => `${path}: ${message}`),
    });
  }
  run.extras(decision, surfaceRun.failed || surfaceRun.malformed.length > 0);
  const outcome: DecisionOutcome = { decision, denied: !gate.allowed, denialReason: gate.reason, recordsUsage: run.meters.recordsUsage, plans: run.plans };
  if (gate.refusedBy !== undefined) outcome.deniedBy = { feature: gate.refusedBy.feature, property: gate.refusedBy.property };
  const routeComponents = request.route?.components ?? NO_COMPONENTS;
  if (!gate.allowed || surface.declaresComponents || routeComponents.length > 0) {
    const values = run.templateValues(gate, step, request, decision);
    outcome.templateValues = values;
    if (!surfaceRun.componentsSkipped) applyDeclared(decision, surface, routeComponents, { values, features: decision.features, plans: run.plans });
  }
  return outcome;
}

/** An access check: steps 1 to 4 with nothing declared, dry; the decision head without surface logic. */
export async function checkAccess(ctx: EngineContext, request: Omit<DecisionRequest, 'surfaceSlug' | 'route'>): Promise<AccessCheck> {
  const run = await DecisionRun.start(ctx, request);
  await run.applyDeclared({ declared: NO_CONSUMPTION, dryRun: true });
  const check: AccessCheck = run.head();
  run.extras(check);
  return check;
}
