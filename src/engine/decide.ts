// The decision pipeline of PRODUCT.md §2, one request:
// identity → plans → features → one store call (declared consumption) → surface workflow →
// component workflows → the decision. Enforcement is the caller's (gateway or API).
import { randomUUID } from 'node:crypto';
import type { DecisionOutcome, DecisionRequest, EngineLogger } from './engine.js';
import { EngineError } from './errors.js';
import { buildFeatures, workflowFeatures, type MeterOperations } from './features.js';
import { resolved, resolveIdentity, testGroup100, type IdentityDeps } from './identity/resolve.js';
import { RequestMeters } from './meters/request-meters.js';
import { evaluateCall } from './meters/semantics.js';
import type { ConsumeSpec, MeterCall, MeterStore, Visitor } from './meters/store.js';
import { MAX_UNITS_PER_CALL, StoreUnavailableError } from './meters/store.js';
import type { CompiledSurface, DeclaredConsumption, Model } from './model.js';
import type { PlanResolver, ResolvedPlanValues } from './plans.js';
import { plansFromRules, plansFromWorkflows } from './provisioning.js';
import type { ComponentBehavior, Customer, MeterableProperty, ResolvedIdentity, SurfaceBehavior } from './types.js';
import { Revocation, runWorkflow } from './workflows/run.js';
import type { SurfaceInput, WorkflowIdentity } from './workflows/types.js';

export interface EngineContext {
  model: Model;
  store: MeterStore;
  identity: IdentityDeps;
  resolver: PlanResolver;
  logger?: EngineLogger;
  env: Record<string, string | undefined>;
}

/** Everything one request knows after plans are resolved; shared by decide, access checks and handles. */
export interface RequestState {
  identity: ResolvedIdentity;
  /** Whose counters the store reads and writes. */
  visitor: Visitor;
  /** Built on first use: only requests that run a workflow pay for the test-group hash. */
  workflowIdentity(): WorkflowIdentity;
  plans: readonly string[];
  customer: Customer;
  values: ResolvedPlanValues;
  meters: RequestMeters;
  now: number;
}

const NOT_A_CUSTOMER: Customer = Object.freeze({ isCustomer: false, hasProducts: false, customerIdentifiers: [] as string[] }) as Customer;

export async function prepareRequest(ctx: EngineContext, request: Omit<DecisionRequest, 'surfaceSlug'>): Promise<RequestState> {
  const now = request.now ?? Date.now();
  const { identity, visitor } =
    'resolved' in request.identity ? resolved(request.identity.resolved) : await resolveIdentity(request.identity, request.trusted, ctx.identity);
  let built: WorkflowIdentity | undefined;
  const workflowIdentity = (): WorkflowIdentity => (built ??= { ...identity, userType: visitor.userType, testGroup100: testGroup100(visitor.identifier) });
  const { rules, workflows } = ctx.model.provisioning;
  let provisioned = rules.length > 0 ? plansFromRules(rules, identity.jwtClaims) : NONE;
  if (workflows.length > 0) provisioned = [...provisioned, ...(await plansFromWorkflows(ctx.model, workflowIdentity, ctx.env, ctx.logger))];
  const planSet = ctx.resolver.planSet(visitor.userType, provisioned);
  const resourceId = typeof request.resource?.id === 'string' ? request.resource.id : undefined;
  return {
    identity,
    visitor,
    workflowIdentity,
    plans: planSet.slugs,
    customer: provisioned.length > 0 ? { isCustomer: true, hasProducts: true, customerIdentifiers: [] } : { ...NOT_A_CUSTOMER, customerIdentifiers: [] },
    values: planSet.values,
    meters: new RequestMeters(ctx.model, now, resourceId),
    now,
  };
}

const NONE: readonly string[] = [];

/**
 * The store could not answer: the consumption is granted or refused by the policy, records nothing.
 * The policy judges only what the call asked for: a read with no requirement and no consumption is
 * not denied when the store is down (its metered properties carry the policy instead).
 */
function applyFailurePolicy(state: RequestState, call: Omit<MeterCall, 'visitor' | 'now'>, open: boolean): { requirementMet: boolean; granted: boolean } {
  for (const c of call.consume) state.meters.noteConsumption(c.counterId, { granted: open, units: 0, excess: open ? 0 : c.units, free: false });
  return { requirementMet: open || (call.require ?? []).length === 0, granted: open || call.consume.length === 0 };
}

/** Runs one store call and folds its result into the request's meters; applies the failure policy when the store cannot answer. */
export async function callStore(
  ctx: EngineContext,
  state: RequestState,
  call: Omit<MeterCall, 'visitor' | 'now'>,
): Promise<{ requirementMet: boolean; granted: boolean }> {
  const open = ctx.model.store.failurePolicy === 'open';
  if (state.meters.degraded) {
    // The store already failed during this request: apply the policy without waiting on it again.
    return applyFailurePolicy(state, call, open);
  }
  try {
    // Written out field by field, not spread: one object shape for every call.
    const fullCall: MeterCall = {
      visitor: state.visitor,
      now: state.now,
      counters: call.counters,
      require: call.require,
      consume: call.consume,
      dryRun: call.dryRun,
    };
    let result = await ctx.store.run(fullCall);
    if (call.dryRun && call.consume.length > 0) {
      // Judge again with this request's own dry consumption counted, as the real run would see it.
      const { requirementMet, consumed } = evaluateCall(fullCall, state.meters.withOwnUsage(result.readings));
      result = { readings: result.readings, requirementMet, consumed };
    }
    state.meters.absorb(result, call.consume, call.dryRun);
    let granted = true;
    for (const c of result.consumed) if (!c.granted) granted = false;
    return { requirementMet: result.requirementMet, granted };
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    state.meters.degraded = true;
    ctx.logger?.event('error', err.code, { message: err.message, policy: ctx.model.store.failurePolicy });
    return applyFailurePolicy(state, call, open);
  }
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

/**
 * Step 4: read every meter and apply the declared consumption (route + surface, each counter once),
 * all or nothing, only if the route's requirement holds on the state before consumption. One store
 * call at most. Returns whether the request may proceed (false = denied).
 */
export async function applyDeclared(
  ctx: EngineContext,
  state: RequestState,
  declared: readonly DeclaredConsumption[],
  requirement: DeclaredConsumption | undefined,
  dryRun: boolean,
): Promise<{ allowed: boolean; reason?: 'requirement' | 'consumption' }> {
  const { model } = ctx;
  const counters = meteredCounters(model, state.values);
  let preconditionFailed: 'requirement' | 'consumption' | undefined;
  let require: MeterCall['require'];
  if (requirement !== undefined) {
    const value = state.values.get(`${requirement.feature}.${requirement.property}`)?.value;
    if (value?.kind === 'metered')
      require = [{ counterId: counterOf(model, requirement), limit: value.limit, period: value.period, uniqueResources: value.uniqueResources }];
    else if (!(value?.kind === 'on' || (value?.kind === 'scalar' && value.value === true))) preconditionFailed = 'requirement';
  }
  const consume: ConsumeSpec[] = [];
  const seen = new Set<string>();
  for (const item of declared) {
    const counterId = counterOf(model, item);
    if (seen.has(counterId)) continue;
    seen.add(counterId);
    const value = state.values.get(`${item.feature}.${item.property}`)?.value;
    if (value?.kind === 'metered') {
      const { limit, period, uniqueResources, allowPartial } = value;
      consume.push({ counterId, units: item.units, meter: { limit, period, uniqueResources, allowPartial } });
    } else if (value?.kind === 'on') {
      state.meters.noteConsumption(counterId, { granted: true, units: 0, excess: 0, free: false });
    } else {
      preconditionFailed ??= 'consumption';
    }
  }
  if (preconditionFailed !== undefined) {
    if (counters.size > 0) await callStore(ctx, state, { counters: [...counters].map((id) => state.meters.spec(id)), consume: [], dryRun: true });
    return { allowed: false, reason: preconditionFailed };
  }
  if (counters.size === 0) return { allowed: true };
  const result = await callStore(ctx, state, { counters: [...counters].map((id) => state.meters.spec(id)), require, consume, dryRun });
  if (!result.requirementMet) return { allowed: false, reason: 'requirement' };
  return result.granted ? { allowed: true } : { allowed: false, reason: 'consumption' };
}

function meterOperations(ctx: EngineContext, state: RequestState, dryRun: boolean, revocation: Revocation): MeterOperations {
  const { model } = ctx;
  const operate = async (featureSlug: string, propertySlug: string, units: number, limited: boolean): Promise<MeterableProperty> => {
    revocation.check();
    if (!Number.isInteger(units) || units < 1 || units > MAX_UNITS_PER_CALL)
      throw new TypeError(`units must be a whole number from 1 to ${MAX_UNITS_PER_CALL}, got ${String(units)}`);
    const feature = model.featureBySlug.get(featureSlug)!;
    const property = feature.properties.find((p) => p.slug === propertySlug)!;
    const resolved = state.values.get(`${featureSlug}.${propertySlug}`);
    const value = resolved?.value;
    const metered = value?.kind === 'metered';
    if (metered || !limited) {
      const meter =
        limited && metered ? { limit: value.limit, period: value.period, uniqueResources: value.uniqueResources, allowPartial: value.allowPartial } : null;
      await revocation.inStore(() =>
        callStore(ctx, state, { counters: [state.meters.spec(property.counterId)], consume: [{ counterId: property.counterId, units, meter }], dryRun }),
      );
    }
    const open = model.store.failurePolicy === 'open';
    return state.meters.property(property, value?.kind === 'scalar' ? undefined : value, resolved === undefined, open);
  };
  return {
    consume: (f, p, units) => operate(f, p, units, true),
    incrementCounter: (f, p, units) => operate(f, p, units, false),
  };
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
}

async function runSurface(ctx: EngineContext, state: RequestState, surface: CompiledSurface, request: DecisionRequest, dryRun: boolean): Promise<SurfaceRun> {
  const timeoutMs = ctx.model.workflowTimeoutMs;
  let failed = false;
  const inputFor = (revocation: Revocation): SurfaceInput => ({
    identity: state.workflowIdentity(),
    features: workflowFeatures(ctx.model, state.values, state.meters, meterOperations(ctx, state, dryRun, revocation)),
    resource: request.resource ?? {},
    context: { ...request.context, surfaceSlug: surface.slug, dryRun },
    env: ctx.env,
  });
  const behavior: SurfaceBehavior = {};
  if (surface.workflow !== undefined) {
    const revocation = new Revocation();
    const outcome = await runWorkflow(surface.workflow.run, inputFor(revocation), {
      file: surface.workflow.file,
      kind: 'surface',
      timeoutMs,
      revocation,
      logger: ctx.logger,
    });
    if (!outcome.ok) failed = true;
    else if (outcome.value !== undefined && !isPlainObject(outcome.value)) {
      failed = true;
      ctx.logger?.event('error', 'workflow-bad-result', {
        workflow: surface.workflow.file,
        message: 'a surface workflow must return an object { properties?, http? }',
      });
    } else if (outcome.value !== undefined) {
      if (isPlainObject(outcome.value.properties)) behavior.properties = outcome.value.properties;
      if (isPlainObject(outcome.value.http)) behavior.http = outcome.value.http;
    }
  }
  const components: Record<string, ComponentBehavior> = {};
  if (behavior.http !== undefined && 'body' in behavior.http) return { behavior, componentsSkipped: true, components, failed };
  await Promise.all(
    surface.components.map(async (component) => {
      const result = componentMetadata(component);
      if (component.workflow !== undefined) {
        const revocation = new Revocation();
        const input = { ...inputFor(revocation), surfaceProperties: behavior.properties ?? {} };
        const outcome = await runWorkflow(component.workflow.run, input, {
          file: component.workflow.file,
          kind: 'component',
          timeoutMs,
          revocation,
          logger: ctx.logger,
        });
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
  return { behavior, componentsSkipped: false, components: ordered, failed };
}

const NO_CONSUMPTION: readonly DeclaredConsumption[] = [];

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
  return { behavior: {}, componentsSkipped: false, components, failed: false };
}

export async function decide(ctx: EngineContext, request: DecisionRequest): Promise<DecisionOutcome> {
  const surface = ctx.model.surfaces.get(request.surfaceSlug);
  if (surface === undefined) throw new EngineError('unknown-surface', `unknown surface '${String(request.surfaceSlug)}'`);
  const state = await prepareRequest(ctx, request);
  const dryRun = request.dryRun === true;
  const routeConsume = request.route?.consume ?? NO_CONSUMPTION;
  const declared = surface.consume.length === 0 ? routeConsume : [...routeConsume, ...surface.consume];
  const gate = await applyDeclared(ctx, state, declared, request.route?.require, dryRun);
  // A denied request never consumes: the workflows still run, dry.
  const surfaceRun = runsWorkflows(surface) ? await runSurface(ctx, state, surface, request, dryRun || !gate.allowed) : withoutWorkflows(surface);
  const decision: DecisionOutcome['decision'] = {
    status: 'success',
    eventId: randomUUID(),
    identity: state.identity,
    customer: state.customer,
    features: buildFeatures(ctx.model, state.values, state.meters),
    surfaceBehavior: surfaceRun.behavior,
    componentsSkipped: surfaceRun.componentsSkipped,
    componentBehaviors: surfaceRun.components,
  };
  if (state.meters.degraded || surfaceRun.failed) decision.degraded = true;
  return { decision, denied: !gate.allowed, denialReason: gate.reason, recordsUsage: state.meters.recordsUsage, plans: state.plans };
}
