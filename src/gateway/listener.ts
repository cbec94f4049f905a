// The gateway listener: a plain node:http server whose handler runs the pipeline (no framework on
// the proxy path: express in front of the proxy costs ~60 % of throughput, see docs/gateway.md).
// HTTP requests and websocket upgrades go through the same pipeline; the verdict is carried out over
// HTTP (answer or proxy) or on the upgrade's socket. The pipeline can be swapped on a config reload:
// each request holds the pipeline it started on, so in-flight requests finish on the old one.
import type { EventLogger } from '../events.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Engine } from '../engine/engine.js';
import { createApiMount, type ApiMountOptions } from './api-mount.js';
import { errorResponse, ERRORS } from './error-pages.js';
import { loggedPath, type GatewayObserver, type RequestOutcome, type RequestSummary } from './observer.js';
import type { GatewayModel, GatewaySource } from './model.js';
import { createPipeline, type Pipeline, type Verdict } from './pipeline.js';
import { closeNow, listenGateway } from './listen.js';
import { createUpstreamProxy, type UpstreamTiming } from './proxy.js';
import { refuseGatewayChanges } from './reloadable.js';
import { REQUEST_ID_HEADER, sendAnswer } from './send.js';
import { writeSocketStatus } from './websocket-proxy.js';

export interface GatewayOptions {
  /** The loaded config (its `gateway` section compiled by src/config/load.ts). */
  model: GatewaySource;
  engine: Engine;
  /** Engine-style events (`gateway-path-rejected`, `upstream-unreachable`, ...); JSON lines on stderr by default. */
  logger?: EventLogger;
  /** Gets one summary per request (HTTP and websocket upgrades). Without one, summaries go to the logger as `request` (info). */
  observer?: GatewayObserver;
  /** The decision API mounted on the gateway port under a path prefix. */
  api?: ApiMountOptions;
  /** Overrides `gateway.listen` (tests use port 0). */
  listen?: { host?: string; port?: number };
  /** Overrides `gateway.upstream`. */
  upstream?: string;
  /** Told when each request and websocket upgrade starts and when its connection closes (drain on reload and shutdown). */
  inFlight?: { begin(item: ServerResponse | Duplex): void; end(item: ServerResponse | Duplex): void };
}

export interface RunningGateway {
  server: Server;
  /** `http://host:port` the gateway listens on. */
  url: string;
  /**
   * Switches to a new model and engine between requests (a config reload). Throws, and keeps the
   * running pipeline, when the new config has no gateway section or changes `listen` or `upstream`.
   */
  swap(next: { model: GatewaySource; engine: Engine }): void;
  close(): Promise<void>;
}

/** Throws when the config has no `gateway` section (its rules were checked when it was loaded). */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  let gateway = usableGateway(options.model);
  const api = options.api === undefined ? undefined : createApiMount(options.api);
  const logger = options.logger ?? stderrLogger;
  const inFlight = options.inFlight;
  const upstream = new URL(options.upstream ?? gateway.upstream);
  const proxy = createUpstreamProxy({ upstream: upstream.href, headerTimeoutMs: gateway.headerTimeoutMs, idleTimeoutMs: gateway.idleTimeoutMs, logger });
  const build = (gateway: GatewayModel, engine: Engine): Pipeline => createPipeline({ gateway, engine, upstreamHost: upstream.host, logger });
  let pipeline = build(gateway, options.engine);
  const report = (summary: RequestSummary) => {
    if (options.observer) options.observer.requestDone(summary);
    else logger.event('info', 'request', { ...summary });
  };

  /** Carries out a verdict over HTTP: the gateway's own answer, or the forward upstream. */
  const carryOut = (verdict: Verdict, { req, res, exchange, current }: HttpRequest) => {
    exchange.outcome = verdict.outcome;
    if (verdict.kind === 'answer') {
      if (!req.complete) drainAtMost(req, UNREAD_BODY_LIMIT_BYTES);
      sendAnswer(res, verdict);
      return;
    }
    exchange.forwardedAt = performance.now();
    proxy.forward({
      req,
      res,
      target: verdict.target,
      headers: verdict.headers,
      shapeHead: verdict.shapeHead,
      bodyless: verdict.bodyless,
      additions: verdict.additions,
      timeouts: current.timeouts,
      timing: exchange,
      components: verdict.components,
    });
  };
  /** A bug, never the visitor's fault: logged once, the same way for HTTP and websockets; the caller answers 500. */
  const internalError = (error: unknown, exchange: Exchange) =>
    logger.event(
      'error',
      'gateway-internal-error',
      exchange.websocket ? { error: (error as Error)?.message, websocket: true } : { error: (error as Error)?.message },
    );
  /** Requests under the API mount go to the API, HTTP or websocket alike: true when this one does. */
  const forTheApi = (req: IncomingMessage, exchange: Exchange): boolean => {
    if (api === undefined || !api.matches(req.url ?? '')) return false;
    exchange.route = `${api.path}/**`;
    return true;
  };
  /** Answer 500 without details and keep serving. */
  const failed = (error: unknown, { req, res, exchange }: HttpRequest) => {
    internalError(error, exchange);
    if (!req.complete && !req.readableFlowing) drainAtMost(req, UNREAD_BODY_LIMIT_BYTES);
    if (!res.headersSent) sendAnswer(res, errorResponse(ERRORS.decisionFailed(), req.headers.accept));
    else res.destroy();
  };
  const decide = ({ req, exchange, current }: HttpRequest) => current.run(req, exchange);

  // The newest response on each connection: responses go out in order, so once it is written, every
  // earlier one is too (a malformed pipelined request's 400 waits for it).
  const lastResponse = new WeakMap<Duplex, ServerResponse>();

  // Per connection, the socket's byte count when its last response finished: a response's bytes are
  // the difference (responses on one connection are written one after the other).
  const bytesBefore = new WeakMap<Duplex, number>();

  const server = createServer((req, res) => {
    const current = pipeline;
    const exchange = new Exchange(current.requestId(req), req, performance.now());
    exchange.client = current.clientAddress(req);
    res.setHeader(REQUEST_ID_HEADER, exchange.requestId);
    inFlight?.begin(res);
    lastResponse.set(req.socket, res);
    const socket = req.socket;
    res.once('close', () => {
      inFlight?.end(res);
      const written = socket.bytesWritten;
      exchange.bytes = written - (bytesBefore.get(socket) ?? 0);
      bytesBefore.set(socket, written);
      report(exchange.finish(res));
    });
    if (forTheApi(req, exchange)) {
      exchange.outcome = 'answered';
      api!.serve(req, res);
      return;
    }
    // The request finishes on the pipeline it started on.
    whenDecided({ req, res, exchange, current }, decide, carryOut, failed);
  });

  // Open websockets (handshakes included) per client network, against `gateway.websockets.maxPerClient`.
  const openWebsockets = new Map<string, number>();

  // Websockets: decided and gated exactly like a request, then relayed (websocket-proxy.ts).
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const current = pipeline;
    const exchange = new Exchange(current.requestId(req), req, performance.now());
    exchange.client = current.clientAddress(req);
    exchange.websocket = true;
    let reported = false;
    if (inFlight !== undefined) {
      inFlight.begin(socket);
      socket.once('close', () => inFlight.end(socket));
    }
    const done = (outcome: RequestOutcome, status: number, upstreamMs?: number) => {
      if (reported) return;
      reported = true;
      report(exchange.settle(outcome, status, upstreamMs));
    };
    socket.on('error', () => socket.destroy());
    // Silent both ways that long, the connection closes: an open websocket, and a refused handshake
    // whose client never closes its side (it would hold its place under maxPerClient).
    (socket as Socket).setTimeout(pipeline.websockets.idleTimeoutMs, () => socket.destroy());
    if (!isWebsocketUpgrade(req)) {
      writeSocketStatus(socket, 400, 'only websocket upgrades are supported');
      done('rejected', 400);
      return;
    }
    if (forTheApi(req, exchange)) {
      writeSocketStatus(socket, 404, 'the decision API has no websocket endpoint');
      done('rejected', 404);
      return;
    }
    // Counted from the handshake on, before any decision is spent on it; released when the socket closes.
    const network = current.clientNetwork(req);
    const open = openWebsockets.get(network) ?? 0;
    if (open >= current.websockets.maxPerClient) {
      logger.event('warn', 'websocket-limit', { limit: current.websockets.maxPerClient, websocket: true });
      writeSocketStatus(socket, 429, 'too many open websockets from this network');
      done('rejected', 429);
      return;
    }
    openWebsockets.set(network, open + 1);
    socket.once('close', () => {
      const left = (openWebsockets.get(network) ?? 1) - 1;
      if (left <= 0) openWebsockets.delete(network);
      else openWebsockets.set(network, left);
    });
    whenDecided(
      undefined,
      () => current.run(req, exchange),
      (decided) => {
        // A soft denial cuts a page; a websocket cannot be cut: it gets the hard denial.
        const hard = decided.kind === 'forward' ? decided.components?.hardDenial : undefined;
        const verdict: Verdict = hard === undefined ? decided : { kind: 'answer', outcome: 'denied', ...hard };
        if (verdict.kind === 'answer') {
          const { headers } = verdict.head;
          const extra = {
            ...(headers['set-cookie'] ? { 'set-cookie': headers['set-cookie'] } : {}),
            ...(headers.location ? { location: headers.location } : {}),
          };
          writeSocketStatus(socket, verdict.head.status, verdict.outcome, extra);
          done(verdict.outcome, verdict.head.status);
          return;
        }
        const forwardedAt = performance.now();
        proxy.upgrade({
          socket,
          head,
          target: verdict.target,
          headers: verdict.headers,
          headerTimeoutMs: current.timeouts.headerTimeoutMs,
          idleTimeoutMs: current.websockets.idleTimeoutMs,
          shapeHead: verdict.shapeHead,
          additions: verdict.additions,
          settled: (status) => done(status === 101 || status === 0 ? verdict.outcome : 'error', status, performance.now() - forwardedAt),
        });
      },
      (error: unknown) => {
        internalError(error, exchange);
        writeSocketStatus(socket, 500, 'decision-failed');
        done('error', 500);
      },
    );
  });

  // A request Node's parser refuses: its error answer goes after the responses still owed on the
  // connection (pipelined requests before it), then the connection closes.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const answer = () => {
      if (socket.writable) socket.end(`HTTP/1.1 ${clientErrorStatus(error)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    };
    const pending = lastResponse.get(socket);
    if (pending === undefined || pending.writableFinished) {
      answer();
      return;
    }
    pending.once('finish', answer);
    pending.once('close', () => {
      if (!pending.writableFinished) socket.destroy(); // it never completed: nothing more can follow it
    });
  });

  const url = await listenGateway(server, gateway.listen, options.listen);
  return {
    server,
    url,
    swap({ model, engine }) {
      const next = usableGateway(model);
      refuseGatewayChanges(model.file, gateway, next);
      pipeline = build(next, engine); // throws (no anonymous-id secret, ...) before anything is switched
      gateway = next;
    },
    async close() {
      await closeNow(server);
      proxy.close();
    },
  };
}

function usableGateway(model: GatewaySource): GatewayModel {
  const gateway = model.gateway;
  if (gateway === undefined) throw new Error(`${model.file}: no 'gateway' section; add gateway.upstream and gateway.routes to run the gateway`);
  return gateway;
}

/** Bytes of a request body still read after its response was sent; past them the connection closes (docs/gateway.md). */
export const UNREAD_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The gateway answers a request whose body it never read (a paywall, an error page): left alone, Node
 * would read the rest to keep the connection, however large. The body is read here instead, up to
 * `limit` bytes (a client sending a small body keeps its connection; one still sending can read the
 * answer first), and past them the connection is cut.
 */
function drainAtMost(req: IncomingMessage, limit: number): void {
  let left = limit;
  const count = (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.socket.destroy();
  };
  req.on('data', count);
  req.once('end', () => req.off('data', count));
}

/** The status for a request Node's parser refused: 431 for oversized headers, 408 for a request too slow to arrive, else 400. */
function clientErrorStatus(error: NodeJS.ErrnoException): string {
  if (error.code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  return '400 Bad Request';
}

function isWebsocketUpgrade(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.headers.upgrade?.toLowerCase() === 'websocket';
}

/** What the HTTP handler's verdict steps need; one small object per request instead of closures. */
interface HttpRequest {
  req: IncomingMessage;
  res: ServerResponse;
  exchange: Exchange;
  current: Pipeline;
}

/**
 * Carries out a verdict in the same tick when the pipeline had it at once (bypass routes, rejected
 * paths), else when its promise settles. A throw anywhere, in `run` or in `carryOut`, goes to
 * `failed`, never to the server. `context` is handed to each step, so the steps can be made once.
 */
function whenDecided<C>(
  context: C,
  run: (context: C) => Verdict | Promise<Verdict>,
  carryOut: (verdict: Verdict, context: C) => void,
  failed: (error: unknown, context: C) => void,
): void {
  let verdict: Verdict | Promise<Verdict>;
  try {
    verdict = run(context);
    if (!(verdict instanceof Promise)) {
      carryOut(verdict, context);
      return;
    }
  } catch (error) {
    failed(error, context);
    return;
  }
  verdict.then(
    (settled) => {
      try {
        carryOut(settled, context);
      } catch (error) {
        failed(error, context);
      }
    },
    (error: unknown) => failed(error, context),
  );
}

/**
 * One request's state (HTTP, or a websocket upgrade), from arrival to its summary: what the pipeline
 * learns (the trace), the outcome, and the timings. A class with every field set in the constructor, so all requests share
 * one shape (the summary is this object; observers only read it).
 */
class Exchange implements RequestSummary, UpstreamTiming {
  readonly method: string;
  readonly path: string;
  readonly userAgent: string | undefined;
  client: string | undefined = undefined;
  route = '-';
  surface: string | undefined = undefined;
  identityType: 'anonymous' | 'jwt' | undefined = undefined;
  plans: readonly string[] | undefined = undefined;
  degraded: boolean | undefined = undefined;
  decisionMs: number | undefined = undefined;
  wouldDeny: RequestSummary['wouldDeny'] = undefined;
  deniedFeature: string | undefined = undefined;
  outcome: RequestOutcome = 'error';
  status = 0;
  completed = false;
  bytes: number | undefined = undefined;
  forwardedAt = 0;
  upstreamMs: number | undefined = undefined;
  totalMs = 0;
  websocket: boolean | undefined = undefined;

  constructor(
    readonly requestId: string,
    req: IncomingMessage,
    private readonly started: number,
  ) {
    this.method = req.method ?? '';
    this.path = loggedPath(req.url ?? '');
    const agent = req.headers['user-agent'];
    this.userAgent = agent !== undefined && agent.length > MAX_LOGGED_USER_AGENT ? agent.slice(0, MAX_LOGGED_USER_AGENT) : agent;
  }

  /** Called once, when the response closes. */
  finish(res: ServerResponse): this {
    this.status = res.headersSent ? res.statusCode : 0;
    this.completed = res.writableFinished;
    this.totalMs = performance.now() - this.started;
    return this;
  }

  /** Called once, when a websocket upgrade settles: the status its client got (0: it left first). */
  settle(outcome: RequestOutcome, status: number, upstreamMs: number | undefined): this {
    this.outcome = outcome;
    this.status = status;
    this.completed = status !== 0;
    this.upstreamMs = upstreamMs;
    this.totalMs = performance.now() - this.started;
    return this;
  }
}

/** Longer user agents are cut in the summary (and so in the log line). */
const MAX_LOGGED_USER_AGENT = 512;

const stderrLogger: EventLogger = {
  event(level, code, fields) {
    if (level === 'info') return;
    process.stderr.write(`${JSON.stringify({ level, code, ...fields })}\n`);
  },
};
