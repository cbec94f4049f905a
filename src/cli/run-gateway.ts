// `plangate gateway` and `plangate start`: the gateway listener, the ops port (/healthz, /readyz,
// /metrics), and the decision API (mounted on the gateway port under `server.api.mountPath`, or on
// its own listener when the config declares API keys). Wires the request log and metrics to the
// gateway's observer, the reloader to the gateway's swap, and drains requests on shutdown.
import type { Server } from 'node:http';
import { createApiApp } from '../api/app.js';
import { createExplainer, type Explainer } from './explain.js';
import { listen, close } from '../api/server.js';
import type { LoadedConfig, LoadOptions } from '../config/load.js';
import { startForwardAuth } from '../forward-auth/listener.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../gateway/listener.js';
import { apiAccessLog } from '../ops/api-access-log.js';
import { checkReadiness, type Readiness } from '../ops/health.js';
import { InFlight } from '../ops/in-flight.js';
import { createLogger, eventLogger, type Logger } from '../ops/logger.js';
import { Metrics } from '../ops/metrics.js';
import { createOpsApp } from '../ops/ops-app.js';
import { Reloader } from '../ops/reload.js';
import { observers, requestLog } from '../ops/request-log.js';
import { createRuntime, type Runtime } from '../ops/runtime.js';

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface RunGatewayOptions {
  model: LoadedConfig;
  /** `${VAR}` values for reloads (default process.env). */
  env?: Record<string, string | undefined>;
  /** Further options for reloads (the `--dev` anonymous-id key), as the first load had them. */
  load?: Omit<LoadOptions, 'env'>;
  logger?: Logger;
  /** Overrides `gateway.listen` / `server.ops` (tests use port 0). */
  listen?: { host?: string; port?: number };
  ops?: { host?: string; port?: number };
  /** Overrides `gateway.upstream`. */
  upstream?: string;
  /** Reload when the YAML or its workflow files change (default true). */
  watch?: boolean;
  /** How long a shutdown waits for in-flight requests (default 10 s). */
  shutdownTimeoutMs?: number;
}

/** One serving process without its ops port: a worker of `--workers`, or the inside of `runGateway`. */
export interface ServingProcess {
  gateway: RunningGateway;
  api?: { server: Server; url: string };
  /** Where the decision API answers when it is mounted on the gateway port. */
  apiMount?: string;
  metrics: Metrics;
  reloader: Reloader;
  /** The runtime serving now (it changes on reload). */
  readonly runtime: Runtime;
  /** This process's readiness (not ready once a shutdown began). */
  readiness(): Promise<Readiness>;
  /** Graceful: stop accepting, let in-flight requests finish (up to the deadline), close the store. */
  shutdown(deadlineMs?: number): Promise<{ drained: boolean }>;
  /** Immediate: closes every connection now. */
  close(): Promise<void>;
}

export interface RunningServers extends ServingProcess {
  ops: { server: Server; url: string };
}

/** The gateway, the API and the reloader of one process, with the ops port (/healthz, /readyz, /metrics). */
export async function runGateway(options: RunGatewayOptions): Promise<RunningServers> {
  const serving = await startServing(options);
  const { model } = serving.runtime;
  let ops: RunningServers['ops'];
  try {
    ops = await listen(createOpsApp({ readiness: serving.readiness, metrics: serving.metrics }), options.ops?.host ?? model.server.ops.host, options.ops?.port ?? model.server.ops.port);
  } catch (error) {
    await serving.close();
    throw error;
  }
  let stopping: Promise<{ drained: boolean }> | undefined;
  const drain = serving.shutdown;
  // The ops port outlives the drain: load balancers read "shutting down" on /readyz meanwhile.
  const shutdown = (deadlineMs?: number) => (stopping ??= drain(deadlineMs).finally(() => close(ops.server)));
  return Object.assign(serving, {
    ops,
    shutdown,
    async close() {
      await shutdown(0);
    },
  });
}

/** The gateway, the API and the reloader of one process, without an ops port (`--workers` gives the primary that). */
export async function startServing(options: RunGatewayOptions): Promise<ServingProcess> {
  const logger = options.logger ?? createLogger();
  // The store exists before the metrics that watch it; late binding keeps the order simple.
  let storeReady = () => false;
  let storeCalls = () => 0;
  let load = () => ({ pending: 0, shed: 0 });
  let storeMemory: () => Promise<{ usedBytes: number; maxBytes: number } | null> = async () => null;
  let newIds = () => ({ allowed: 0, refused: 0 });
  const metrics = new Metrics({
    storeReady: () => storeReady(),
    storeCalls: () => storeCalls(),
    load: () => load(),
    storeMemory: () => storeMemory(),
    newIds: () => newIds(),
  });
  const events = metrics.engineEvents(eventLogger(logger));
  const first = await createRuntime(options.model, { logger, events });
  const store = first.store;
  storeReady = () => store.health.isReady();
  storeCalls = () => store.health.commandCount;
  load = () => first.load;
  storeMemory = () => store.health.memory();
  newIds = () => first.newIds;
  let current = first;
  const engine = () => current.engine;

  // Beside a proxy the API is never mounted on the decision port: it gets its own listener.
  const mountPath = first.model.gateway?.forwardAuth === undefined ? first.model.server.api.mountPath : undefined;
  // The admin endpoints never answer on the gateway port unless the config says so.
  const admin = mountPath === undefined || first.model.api.adminOnGatewayMount;
  // Explain runs the serving config's own pipeline, rebuilt when a reload changes the engine.
  let explainer: { for: Runtime['engine']; run: Explainer } | undefined;
  const explain = (request: Parameters<Explainer>[0]) => {
    const serving = current;
    if (explainer?.for !== serving.engine)
      explainer = { for: serving.engine, run: createExplainer({ gateway: serving.model.gateway!, engine: serving.engine, logger: events }) };
    return explainer.run(request);
  };
  const apiApp = mountPath !== undefined || first.model.apiKeys.length > 0 ? createApiApp({ engine, events, admin, explain }) : undefined;
  const inFlight = new InFlight();
  const gatewayOptions: GatewayOptions = {
    inFlight,
    model: first.model,
    engine: first.engine,
    logger: events,
    listen: options.listen,
    upstream: options.upstream,
    observer: observers(requestLog(logger), metrics),
  };
  if (apiApp && mountPath !== undefined) gatewayOptions.api = { mountPath, handler: apiApp };
  let gateway: RunningGateway;
  try {
    // Beside a proxy (gateway.forwardAuth), the gateway port serves the decision endpoints instead of proxying.
    gateway = first.model.gateway?.forwardAuth === undefined ? await startGateway(gatewayOptions) : await startForwardAuth({ ...gatewayOptions, logger: events });
  } catch (error) {
    await first.close();
    throw error;
  }

  let api: RunningServers['api'];
  if (apiApp && mountPath === undefined) {
    api = await listen(apiAccessLog(apiApp, { logger, metrics }), first.model.server.api.host, first.model.server.api.port);
    inFlight.track(api.server);
  }

  let shuttingDown = false;

  const reloader = new Reloader({
    file: first.model.file,
    load: { ...options.load, env: options.env },
    runtime: first,
    logger,
    events,
    metrics,
    apply(next) {
      // Gateway and API switch in the same tick: no request sees one config here and another there.
      gateway.swap({ model: next.model, engine: next.engine });
      current = next;
    },
    settled: () => inFlight.settled(options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS),
  });
  if (options.watch !== false) reloader.watch();

  const closeListeners = async () => {
    await gateway.close();
    if (api) await close(api.server);
  };
  let stopping: Promise<{ drained: boolean }> | undefined;
  const shutdown = (deadlineMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS) => {
    stopping ??= (async () => {
      shuttingDown = true;
      gateway.server.close();
      api?.server.close();
      const drained = await inFlight.settled(deadlineMs);
      if (!drained) events.event('warn', 'shutdown-deadline', { deadlineMs, open: inFlight.size });
      await closeListeners();
      await reloader.close();
      return { drained };
    })();
    return stopping;
  };
  return {
    gateway,
    api,
    apiMount: apiApp && mountPath !== undefined ? `${gateway.url}${mountPath}` : undefined,
    metrics,
    reloader,
    get runtime() {
      return current;
    },
    readiness: () => checkReadiness(engine(), store.health, shuttingDown),
    shutdown,
    async close() {
      await shutdown(0);
    },
  };
}
