// Assembles a running engine from a config file: model → store → JWT verifier → engine. The CLI's
// commands and the end-to-end tests start from here.
import { loadConfig, type LoadOptions } from './config/load.js';
import { createEngine, type Engine } from './engine/create-engine.js';
import type { EngineLogger } from './engine/engine.js';
import { createJwtVerifier } from './engine/identity/jwt.js';
import { createMeterStore, type MonitoredMeterStore } from './engine/meters/create-store.js';
import { NewIdBudget } from './engine/identity/new-ids.js';
import { DecisionLoad } from './engine/load.js';
import type { Model } from './engine/model.js';
import { createLogger, engineLogger, type Logger } from './ops/logger.js';

export interface Runtime {
  model: Model;
  engine: Engine;
  store: MonitoredMeterStore;
  /** Decisions in progress in this process (load shedding); the same object across reloads. */
  load: DecisionLoad;
  /** New anonymous ids allowed and refused by the flood budget; the same object across reloads. */
  newIds: NewIdBudget;
  logger: Logger;
  /** Closes the JWT verifier, and the store unless it was passed in as `sharedStore`. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Engine events go here (default: `logger` as JSON lines); the ops layer wraps it to count events for /metrics. */
  events?: EngineLogger;
  /** A store to use instead of the config's; `close()` closes it. */
  store?: MonitoredMeterStore;
  /** A store owned by someone else (a config reload keeps the running connection); `close()` leaves it open. */
  sharedStore?: MonitoredMeterStore;
  /** The running process's decision count (a reload keeps counting where it was). */
  sharedLoad?: DecisionLoad;
  /** The running process's new-id counts (a reload keeps counting where it was). */
  sharedNewIds?: NewIdBudget;
}

export async function createRuntime(model: Model, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger();
  const events = options.events ?? engineLogger(logger);
  const store = options.sharedStore ?? options.store ?? createMeterStore(model.store, events);
  // A new connection gets its first chance before traffic comes (a Cluster loads its slot map first):
  // calls made while it connects wait only commandTimeoutMs. Down is fine: the failure policy applies.
  if (options.sharedStore === undefined && options.store === undefined) await store.health.whenReady(model.store.redis?.connectTimeoutMs ?? 1_000);
  const verifier = createJwtVerifier(model.jwtIntegrations, { logger: events });
  await verifier.warm();
  const load = options.sharedLoad ?? new DecisionLoad();
  const newIds = options.sharedNewIds ?? new NewIdBudget();
  const engine = createEngine({ model, store, verifier, logger: events, load, newIds });
  return {
    model,
    engine,
    store,
    load,
    newIds,
    logger,
    async close() {
      verifier.close();
      if (options.sharedStore === undefined) await store.close();
    },
  };
}

export async function loadRuntime(configFile: string, options: RuntimeOptions & LoadOptions = {}): Promise<Runtime> {
  const model = await loadConfig(configFile, { env: options.env, devAnonymousIdKey: options.devAnonymousIdKey });
  return createRuntime(model, options);
}
