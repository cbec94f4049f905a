// Builds the engine for one loaded config: the object the gateway, the API and the CLI call.
import type { EventCode, EventLogger, LevelOf } from '../events.js';
import { checkAccess, decide, type EngineContext } from './decide.js';
import type { DecisionRequest, Engine, EngineOptions, IdentityInput } from './engine.js';
import { EngineError } from './errors.js';
import { AnonymousIds } from './identity/anonymous-ids.js';
import { DecisionLoad } from './load.js';
import { NewIdBudget } from './identity/new-ids.js';
import { resolveIdentity, type IdentityDeps } from './identity/resolve.js';
import { MAX_UNITS_PER_CALL, StoreUnavailableError } from './meters/store.js';
import { RequestMeters } from './meters/request-meters.js';
import { PlanResolver } from './plans.js';
import { GrantCache } from './grants.js';
import { createAdmin } from './admin.js';

/** Counts every engine event by code, so tests and /metrics can see what was logged. */
export class CountingLogger implements EventLogger {
  readonly counts = new Map<EventCode, number>();
  constructor(private readonly inner?: EventLogger) {}
  event<C extends EventCode>(level: LevelOf<C>, code: C, fields?: Record<string, unknown>): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    this.inner?.event(level, code, fields);
  }
}

/** What counter-updates accept as `update` (docs/api.md). */
export const UPDATE_RANGE = `a non-zero integer from -${MAX_UNITS_PER_CALL} to ${MAX_UNITS_PER_CALL}`;

export function createEngine(options: EngineOptions): Engine {
  const { model, store, verifier } = options;
  const logger = new CountingLogger(options.logger);
  const anonymousIds = model.anonymousIds === undefined ? undefined : new AnonymousIds(model.anonymousIds.keys);
  const identity: IdentityDeps = { verifier, logger, signedAnonymousIds: model.api.anonymousIds === 'signed' ? anonymousIds : undefined };
  const ctx: EngineContext = { model, store, identity, resolver: new PlanResolver(model), grants: new GrantCache(), logger, env: options.env ?? {} };
  const load = options.load ?? new DecisionLoad();
  const limit = model.server.maxPendingDecisions;
  const newIds = options.newIds ?? new NewIdBudget();

  return {
    model,
    store,
    verifier,
    anonymousIds,
    eventCounts: () => logger.counts,
    decide: (request: DecisionRequest) => admitted(() => decide(ctx, request)),
    resolveIdentity: async (input: IdentityInput, trusted: boolean) => (await resolveIdentity(input, trusted, identity)).identity,
    visitorOf: async (input: IdentityInput) => {
      if (input.createAnonymousIdentifier === true) throw new EngineError('invalid-request', 'name an existing visitor: userIdentifier, anonymousIdentifier or userJwt');
      // A gateway cookie's signed id (whatever api.anonymousIds says) names the visitor inside it.
      const signed = input.anonymousIdentifier === undefined ? undefined : anonymousIds?.verify(input.anonymousIdentifier);
      if (signed !== undefined) return { userType: 'anonymous', identifier: signed.id };
      return (await resolveIdentity(input, true, identity)).visitor;
    },
    admin: createAdmin({ model, store, grants: ctx.grants, logger }),
    checkAccess: (request) => admitted(() => checkAccess(ctx, request)),
    updateCounter: (request) => admitted(() => updateCounter(request)),
    newAnonymousIdAllowed: async (networkId: string) =>
      model.newAnonymousIds === undefined ? true : newIds.allow(store, networkId, model.newAnonymousIds, logger),
  };

  /** Every operation that may reach the store counts as a decision in progress (load shedding, load.ts). */
  async function admitted<T>(work: () => Promise<T>): Promise<T> {
    load.enter(limit, logger);
    try {
      return await work();
    } finally {
      load.leave();
    }
  }

  async function updateCounter({ identity: input, counterId, update, resourceId, now }: Parameters<Engine['updateCounter']>[0]): Promise<void> {
    if (!model.counterPeriods.has(counterId)) throw new EngineError('unknown-counter', `unknown counterId '${counterId}'`);
    if (!Number.isInteger(update) || update === 0 || Math.abs(update) > MAX_UNITS_PER_CALL)
      throw new EngineError('invalid-request', `update must be ${UPDATE_RANGE}`);
    // Only the visitor is needed: no plans, no provisioning workflows for a counter update.
    const { visitor } = await resolveIdentity(input, true, identity);
    const at = now ?? Date.now();
    const meters = new RequestMeters(model, at, resourceId);
    try {
      await store.run({
        visitor,
        now: at,
        counters: [meters.spec(counterId)],
        consume: [{ counterId, units: update, meter: null }],
        dryRun: false,
      });
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        logger.event('error', err.code, { message: err.message, operation: 'counter-update' });
        throw new EngineError('store-unavailable', 'the meter store is unavailable; the counter was not updated, retry later');
      }
      throw err;
    }
  }
}
