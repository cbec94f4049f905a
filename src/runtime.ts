// Assembles a running engine from a config file: model → store → JWT verifier → engine. The CLI's
// commands and the end-to-end tests start from here.
import { loadConfig } from './config/load.js';
import { createEngine, type Engine } from './engine/create-engine.js';
import { createJwtVerifier } from './engine/identity/jwt.js';
import { createMeterStore, type MonitoredMeterStore } from './engine/meters/create-store.js';
import type { Model } from './engine/model.js';
import { createLogger, engineLogger, type Logger } from './ops/logger.js';

export interface Runtime {
  model: Model;
  engine: Engine;
  store: MonitoredMeterStore;
  logger: Logger;
  close(): Promise<void>;
}

export async function createRuntime(model: Model, options: { logger?: Logger; store?: MonitoredMeterStore } = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger();
  const events = engineLogger(logger);
  const store = options.store ?? createMeterStore(model.store, events);
  const verifier = createJwtVerifier(model.jwtIntegrations, { logger: events });
  await verifier.warm();
  const engine = createEngine({ model, store, verifier, logger: events });
  return {
    model,
    engine,
    store,
    logger,
    async close() {
      verifier.close();
      await store.close();
    },
  };
}

export async function loadRuntime(configFile: string, options: { logger?: Logger; env?: Record<string, string | undefined> } = {}): Promise<Runtime> {
  const model = await loadConfig(configFile, { env: options.env });
  return createRuntime(model, options);
}
