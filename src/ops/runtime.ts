// Assembles a running engine from a config file: model → store → JWT verifier → engine. The CLI's
// commands and the end-to-end tests start from here.
import type { EventLogger } from '../events.js';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { createEngine } from '../engine/create-engine.js';
import type { Engine } from '../engine/engine.js';
import { createJwtVerifier } from '../engine/identity/jwt.js';
import { createMeterStore, type MonitoredMeterStore } from '../engine/meters/create-store.js';
import { createLogger, eventLogger, type Logger } from './logger.js';
import { NewIdBudget } from '../engine/identity/new-ids.js';
import { DecisionLoad } from '../engine/load.js';

export interface Runtime {
  model: LoadedConfig;
  engine: Engine;
  store: MonitoredMeterStore;
  /** Decisions in progress in this process (load shedding); the same object across reloads. */
  load: DecisionLoad;
  /** New anonymous ids allowed and refused by the flood budget; the same object across reloads. */
  newIds: NewIdBudget;
  logger: Logger;
  /** Where this runtime's events go (the engine's, and the API's when it serves one). */
  events: EventLogger;
  /** Closes the JWT verifier, and the store unless it was passed in as `sharedStore`. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Engine events go here (default: `logger` as JSON lines); the ops layer wraps it to count events for /metrics. */
  events?: EventLogger;
  /** A store to use instead of the config's; `close()` closes it. */
  store?: MonitoredMeterStore;
  /** A store owned by someone else (a config reload keeps the running connection); `close()` leaves it open. */
  sharedStore?: MonitoredMeterStore;
  /** The running process's decision count (a reload keeps counting where it was). */
  sharedLoad?: DecisionLoad;
  /** The running process's new-id counts (a reload keeps counting where it was). */
  sharedNewIds?: NewIdBudget;
}

export async function createRuntime(model: LoadedConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger();
  const events = options.events ?? eventLogger(logger);
  const store = options.sharedStore ?? options.store ?? createMeterStore(model.store, events);
  // A new connection gets its first chance before traffic comes (a Cluster loads its slot map first):
  // calls made while it connects wait only commandTimeoutMs. Down is fine: the failure policy applies.
  if (options.sharedStore === undefined && options.store === undefined) await store.health.whenReady(model.store.redis?.connectTimeoutMs ?? 1_000);
  const verifier = createJwtVerifier(model.jwtIntegrations, { logger: events });
  await verifier.warm();
  const load = options.sharedLoad ?? new DecisionLoad();
  const newIds = options.sharedNewIds ?? new NewIdBudget();
  // Workflows see the process's environment: read here, at the edge, never inside the engine.
  const engine = createEngine({ model, store, verifier, logger: events, env: process.env, load, newIds });
  return {
    model,
    engine,
    store,
    load,
    newIds,
    logger,
    events,
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
