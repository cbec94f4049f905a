// The gateway listener: a plain node:http server whose handler runs the pipeline (no framework on
// the proxy path: express in front of the proxy costs ~60 % of throughput, see docs/gateway.md).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EngineApi, EngineLogger } from '../engine/engine.js';
import type { Model } from '../engine/model.js';
import { errorResponse, ERRORS } from './error-pages.js';
import { createPipeline, type RequestOutcome } from './pipeline.js';
import { createUpstreamProxy } from './proxy.js';
import { routeIssues } from './routes.js';
import { sendAnswer } from './send.js';

export interface GatewayOptions {
  model: Model;
  engine: EngineApi;
  /** Engine-style events (`gateway-path-rejected`, `upstream-unreachable`, `request`, ...); JSON lines on stderr by default. */
  logger?: EngineLogger;
  /** Overrides `gateway.listen` (tests use port 0). */
  listen?: { host?: string; port?: number };
  /** Overrides `gateway.upstream`. */
  upstream?: string;
}

export interface RunningGateway {
  server: Server;
  /** `http://host:port` the gateway listens on. */
  url: string;
  close(): Promise<void>;
}

/** Throws when the model has no `gateway` section or its routes are unusable (with key paths). */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const gateway = options.model.gateway;
  if (gateway === undefined) throw new Error(`${options.model.file}: no 'gateway' section; add gateway.upstream and gateway.routes to run the gateway`);
  const issues = routeIssues(gateway);
  if (issues.length > 0) throw new Error(`${options.model.file}: invalid gateway config:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  const logger = options.logger ?? stderrLogger;
  const proxy = createUpstreamProxy({ upstream: options.upstream ?? gateway.upstream, headerTimeoutMs: gateway.headerTimeoutMs, idleTimeoutMs: gateway.idleTimeoutMs, logger });
  const handle = createPipeline({ model: options.model, gateway, engine: options.engine, proxy, logger });

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    let outcome: RequestOutcome = 'error';
    res.once('close', () =>
      logger.event('info', 'request', { method: req.method, outcome, status: res.statusCode, completed: res.writableFinished, ms: Number(process.hrtime.bigint() - started) / 1e6 }),
    );
    handle(req, res).then(
      (result) => {
        outcome = result;
      },
      (error: unknown) => {
        // A bug, never the visitor's fault: answer 500 without details and keep serving.
        logger.event('error', 'gateway-internal-error', { error: (error as Error)?.message });
        if (!res.headersSent) sendAnswer(res, errorResponse(ERRORS.decisionFailed(), req.headers.accept));
        else res.destroy();
      },
    );
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  const host = options.listen?.host ?? gateway.listen.host;
  const port = options.listen?.port ?? gateway.listen.port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      proxy.close();
    },
  };
}

const stderrLogger: EngineLogger = {
  event(level, code, fields) {
    if (level === 'info') return;
    process.stderr.write(`${JSON.stringify({ level, code, ...fields })}\n`);
  },
};
