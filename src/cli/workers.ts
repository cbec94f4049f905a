// `plangate gateway --workers N` (or `server.workers: N`): N worker processes share the gateway's and
// the API's listening sockets (node:cluster hands connections out round-robin), each with its own
// engine and Redis connection; the primary serves the ops port, passes reloads and shutdowns on, and
// replaces a worker that dies. docs/operations.md "Worker processes" is the operator's side.
//
// Who does what:
// - signals go to the primary only (a worker ignores SIGINT, SIGTERM and SIGHUP: a Ctrl-C reaches
//   the whole process group, and the primary coordinates); a worker whose primary is gone drains and
//   exits on its own;
// - /readyz on the primary asks every worker and is ready when all of them are;
// - /metrics on the primary is the sum over the workers (prom-client's aggregation; readiness-like
//   gauges take the minimum or the maximum, see metrics.ts), so one scrape sees the host;
// - logs: each worker writes its own lines to the shared stdout with a `worker` field.
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { AggregatorRegistry, Registry, Counter, Gauge } from 'prom-client';
import { listen, close } from '../api/server.js';
import type { LoadedConfig } from '../config/load.js';
import { redisForm } from '../engine/meters/redis-connection.js';
import { combineReadiness, type Readiness } from '../ops/health.js';
import { createLogger, eventLogger } from '../ops/logger.js';
import { createOpsApp } from '../ops/ops-app.js';
import { startServing, type RunGatewayOptions } from './run-gateway.js';

/** How long the primary waits for a worker's answer to /readyz or /metrics. */
const ASK_TIMEOUT_MS = 2_000;
/** A worker that dies is replaced after this pause; this many restarts within a minute stop the host. */
const RESTART_DELAY_MS = 1_000;
const MAX_RESTARTS_PER_MINUTE = 5;

type ToWorker = { type: 'plangate:ask'; id: number; what: 'readiness' | 'metrics' } | { type: 'plangate:reload'; trigger: string } | { type: 'plangate:shutdown' };
type FromWorker =
  | { type: 'plangate:listening'; gateway: string; api?: string; apiMount?: string }
  | { type: 'plangate:answer'; id: number; value: unknown }
  | { type: 'plangate:reloaded'; ok: boolean };

function isFromWorker(message: unknown): message is FromWorker {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string' && (message as { type: string }).type.startsWith('plangate:');
}

/** Why more than one worker cannot run on this config, or null. */
export function workersProblem(model: LoadedConfig, workers: number): string | null {
  if (workers <= 1 || (model.store.redis !== undefined && redisForm(model.store.redis) !== null)) return null;
  return (
    `server.workers is ${workers} but the meters are in memory: each worker would count on its own and a reader would get ` +
    `${workers} times the free reads. Set REDIS_URL or store.redis (docs/redis.md), or run one worker.`
  );
}

export interface PrimaryOptions extends Omit<RunGatewayOptions, 'model' | 'logger'> {
  model: LoadedConfig;
  workers: number;
  /** Called once every worker listens (the banner). */
  onListening?(urls: { gateway: string; api?: string; apiMount?: string; ops: string }): void;
}

/** The primary: forks the workers, serves the ops port, relays signals. Resolves once all workers listen. */
export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { model, workers: count } = options;
  const logger = createLogger();
  const events = eventLogger(logger);
  const registry = new Registry();
  const alive = new Gauge({ name: 'plangate_workers', help: 'Worker processes by state (configured, running)', labelNames: ['state'], registers: [registry] });
  const restarts = new Counter({ name: 'plangate_worker_restarts_total', help: 'Worker processes started again after one died', registers: [registry] });
  alive.set({ state: 'configured' }, count);

  // The ops port is bound first: a port in use fails the start before any worker is forked.
  let shuttingDown = false;
  const pending = new Map<number, { resolve(value: unknown): void }>();
  let nextAsk = 1;
  const ask = (worker: Worker, what: 'readiness' | 'metrics') =>
    new Promise<unknown>((resolve) => {
      const id = nextAsk++;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(null);
      }, ASK_TIMEOUT_MS);
      pending.set(id, {
        resolve(value) {
          clearTimeout(timer);
          pending.delete(id);
          resolve(value);
        },
      });
      send(worker, { type: 'plangate:ask', id, what });
    });
  // The workers that said they listen (a dead one leaves; its replacement enters once it listens).
  const serving = new Map<number, Worker>();
  const running = () => [...serving.values()];
  const opsApp = createOpsApp({
    async readiness() {
      const answers = await Promise.all(running().map(async (w) => ({ worker: w.id, readiness: (await ask(w, 'readiness')) as Readiness | null })));
      return combineReadiness(count, answers, shuttingDown);
    },
    metrics: {
      contentType: () => registry.contentType,
      async text() {
        alive.set({ state: 'running' }, serving.size);
        const parts = (await Promise.all(running().map((w) => ask(w, 'metrics')))).filter((m): m is object[] => Array.isArray(m));
        return AggregatorRegistry.aggregate([...parts, await registry.getMetricsAsJSON()]).metrics();
      },
    },
  });
  const ops: { server: Server; url: string } = await listen(opsApp, options.ops?.host ?? model.server.ops.host, options.ops?.port ?? model.server.ops.port);

  // Workers run this same command line; `PLANGATE_WORKER_OPTIONS` carries what the flags resolved to.
  const workerEnv = { PLANGATE_WORKER_OPTIONS: JSON.stringify({ listen: options.listen, upstream: options.upstream, shutdownTimeoutMs: options.shutdownTimeoutMs, watch: options.watch }) };
  const restartTimes: number[] = [];
  let listening = 0;
  let started: (urls: { gateway: string; api?: string; apiMount?: string }) => void;
  let failed: (error: Error) => void;
  const ready = new Promise<{ gateway: string; api?: string; apiMount?: string }>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  let startedUp = false;

  const fork = () => {
    const worker = cluster.fork(workerEnv);
    worker.on('message', (message: unknown) => {
      if (!isFromWorker(message)) return;
      if (message.type === 'plangate:answer') pending.get(message.id)?.resolve(message.value);
      else if (message.type === 'plangate:listening') {
        serving.set(worker.id, worker);
        events.event('info', 'worker-started', { worker: worker.id, pid: worker.process.pid });
        if (!startedUp && ++listening === count) {
          startedUp = true;
          started(message);
        }
      }
    });
    worker.on('exit', (code, signal) => {
      serving.delete(worker.id);
      if (shuttingDown) return;
      if (!startedUp) {
        failed(new Error(`a worker exited while starting (code ${code ?? signal}); its error is above`));
        return;
      }
      events.event('error', 'worker-exited', { worker: worker.id, pid: worker.process.pid, exitCode: code, signal });
      const now = Date.now();
      restartTimes.push(now);
      while (restartTimes.length > 0 && restartTimes[0] < now - 60_000) restartTimes.shift();
      if (restartTimes.length > MAX_RESTARTS_PER_MINUTE) {
        events.event('error', 'worker-restarts-exhausted', { restarts: restartTimes.length });
        void stop(1);
        return;
      }
      setTimeout(() => {
        if (shuttingDown) return;
        restarts.inc();
        fork();
      }, RESTART_DELAY_MS).unref();
    });
  };

  let stopping: Promise<void> | undefined;
  const stop = (exitCode: number) =>
    (stopping ??= (async () => {
      shuttingDown = true;
      const exits = [...Object.values(cluster.workers ?? {})].filter((w): w is Worker => w !== undefined).map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) return resolve();
        w.once('exit', () => resolve());
        send(w, { type: 'plangate:shutdown' });
      }));
      // Each worker drains within its own deadline; a worker still there well after it is killed.
      const deadline = (options.shutdownTimeoutMs ?? 10_000) + 5_000;
      const killer = setTimeout(() => {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      }, deadline);
      await Promise.all(exits);
      clearTimeout(killer);
      await close(ops.server);
      process.exit(exitCode);
    })());

  process.on('SIGHUP', () => {
    const targets = running();
    void Promise.all(
      targets.map(
        (w) =>
          new Promise<boolean>((resolve) => {
            const onMessage = (message: unknown) => {
              if (isFromWorker(message) && message.type === 'plangate:reloaded') {
                w.off('message', onMessage);
                resolve(message.ok);
              }
            };
            w.on('message', onMessage);
            send(w, { type: 'plangate:reload', trigger: 'sighup' });
          }),
      ),
    ).then((outcomes) =>
      events.event('info', 'workers-reload', { trigger: 'sighup', applied: outcomes.filter(Boolean).length, refused: outcomes.filter((ok) => !ok).length }),
    );
  });
  let signalled = false;
  const onStop = (signal: string) => {
    if (signalled) {
      process.stderr.write(`plangate: ${signal} again, stopping the workers without waiting\n`);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }
    signalled = true;
    void stop(0);
  };
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGTERM', () => onStop('SIGTERM'));

  for (let i = 0; i < count; i++) fork();
  let urls;
  try {
    urls = await ready;
  } catch (error) {
    shuttingDown = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    await close(ops.server);
    throw error;
  }
  options.onListening?.({ ...urls, ops: ops.url });
}

function send(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message);
}

/** A worker: the gateway and the API without an ops port, steered by the primary's messages. */
export async function runWorker(options: Omit<RunGatewayOptions, 'logger' | 'listen' | 'upstream' | 'shutdownTimeoutMs' | 'watch'>): Promise<void> {
  const id = cluster.worker!.id;
  const resolved = JSON.parse(process.env.PLANGATE_WORKER_OPTIONS ?? '{}') as Pick<RunGatewayOptions, 'listen' | 'upstream' | 'shutdownTimeoutMs' | 'watch'>;
  const serving = await startServing({ ...options, ...resolved, logger: createLogger({ worker: id }) });
  // The primary decides when to stop and reload.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
  let exiting = false;
  const drainAndExit = () => {
    if (exiting) return;
    exiting = true;
    void serving.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (message: ToWorker) => {
    switch (message?.type) {
      case 'plangate:ask': {
        const answer = message.what === 'readiness' ? serving.readiness() : serving.metrics.registry.getMetricsAsJSON();
        void answer.then(
          (value) => process.send?.({ type: 'plangate:answer', id: message.id, value } satisfies FromWorker),
          () => process.send?.({ type: 'plangate:answer', id: message.id, value: null } satisfies FromWorker),
        );
        break;
      }
      case 'plangate:reload':
        void serving.reloader.reload(message.trigger).then((outcome) => process.send?.({ type: 'plangate:reloaded', ok: outcome.ok } satisfies FromWorker));
        break;
      case 'plangate:shutdown':
        drainAndExit();
        break;
    }
  });
  // The primary is gone (killed): nobody will ask again, so drain and leave.
  process.on('disconnect', drainAndExit);
  process.send?.({ type: 'plangate:listening', gateway: serving.gateway.url, api: serving.api?.url, apiMount: serving.apiMount } satisfies FromWorker);
}
