// The forward-auth decision listener (docs/forward-auth.md): a plain node:http server on the gateway
// port. Each request is a proxy asking about one of its own requests; the adapter (adapters.ts) reads
// the original request from the proxy's headers, the gateway's pipeline decides it exactly as the
// standalone gateway would, and the adapter writes the verdict back in the form that proxy expects.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { Engine } from '../engine/engine.js';
import type { EventLogger } from '../events.js';
import { compileTrust, type TrustFn } from '../gateway/client-ip.js';
import { errorResponse, type ErrorAnswer } from '../gateway/error-pages.js';
import type { ForwardAuthSettings, GatewayModel, GatewaySource } from '../gateway/model.js';
import { loggedPath, type GatewayObserver, type RequestOutcome, type RequestTrace } from '../gateway/observer.js';
import { createPipeline, type Pipeline, type Verdict } from '../gateway/pipeline.js';
import { closeNow, listenGateway } from '../gateway/listen.js';
import { refuseGatewayChanges } from '../gateway/reloadable.js';
import type { ResponseHead } from '../gateway/response-merge.js';
import { sendAnswer } from '../gateway/send.js';
import { statusOf } from '../errors.js';
import { allowedAnswer, DENIAL_HEADER, endpointOf, originalRequest, type AuthAnswer, type ProxyKind } from './adapters.js';
import { openDenial, sealDenial } from './denial-token.js';

export interface ForwardAuthOptions {
  /** A loaded config with a `gateway.forwardAuth` section. */
  model: GatewaySource;
  engine: Engine;
  logger: EventLogger;
  observer?: GatewayObserver;
  /** Overrides `gateway.listen` (tests use port 0). */
  listen?: { host?: string; port?: number };
  inFlight?: { begin(item: ServerResponse): void; end(item: ServerResponse): void };
}

export interface RunningForwardAuth {
  server: Server;
  /** `http://host:port` the decision endpoints listen on. */
  url: string;
  swap(next: { model: GatewaySource; engine: Engine }): void;
  close(): Promise<void>;
}

/** The pipeline's trace plus what the summary reports of the original request. */
type ForwardAuthTrace = RequestTrace & { path: string; method: string };
type Reply = (outcome: RequestOutcome, answer: { head: ResponseHead; body: string }) => void;

/** What one config makes of the listener: rebuilt on reload. */
interface Decider {
  pipeline: Pipeline;
  settings: ForwardAuthSettings;
  /** Whether a peer address is one of `forwardAuth.proxies`. */
  trustedPeer: (address: string) => boolean;
  prefix: string;
  signatureHeader: string;
}

const FORWARD_AUTH_ERRORS = {
  badRequest: (missing: string): ErrorAnswer => ({
    status: statusOf('forward-auth-bad-request'),
    code: 'forward-auth-bad-request',
    message: `The proxy did not say what the original request was (missing ${missing}).`,
  }),
  untrustedPeer: (): ErrorAnswer => ({
    status: statusOf('forward-auth-untrusted-peer'),
    code: 'forward-auth-untrusted-peer',
    message: 'Only the configured proxies may ask for decisions.',
  }),
  unsupported: (): ErrorAnswer => ({
    status: statusOf('forward-auth-unsupported'),
    code: 'forward-auth-unsupported',
    message: 'The request could not be answered. Try again later.',
  }),
  badToken: (): ErrorAnswer => ({
    status: statusOf('denial-token-invalid'),
    code: 'denial-token-invalid',
    message: 'The request could not be answered. Try again later.',
  }),
};

function forwardAuthOf(model: GatewaySource): { gateway: GatewayModel; settings: ForwardAuthSettings } {
  const gateway = model.gateway;
  if (gateway?.forwardAuth === undefined) throw new Error(`${model.file}: no 'gateway.forwardAuth' section; add it to run plangate beside a proxy`);
  return { gateway, settings: gateway.forwardAuth };
}

function buildDecider(model: GatewaySource, engine: Engine, logger: EventLogger): Decider {
  const { gateway, settings } = forwardAuthOf(model);
  const trustedPeer = proxyAddr.compile([...settings.proxies]);
  // Hop 0 is the proxy that asks (already checked against `proxies`); `trustProxy` counts the hops in front of it.
  const inFront = compileTrust(gateway.trustProxy);
  const trust: TrustFn = (address, hop) => hop === 0 || inFront(address, hop - 1);
  const pipeline = createPipeline({ gateway, engine, logger, upstreamHost: new URL(gateway.upstream).host, trust, canonicalTargetsOnly: true });
  const prefix = gateway.headerPrefix.toLowerCase();
  return {
    pipeline,
    settings,
    trustedPeer: (address) => trustedPeer(address, 0),
    prefix,
    signatureHeader: gateway.signing?.header ?? `${prefix}signature`,
  };
}

export async function startForwardAuth(options: ForwardAuthOptions): Promise<RunningForwardAuth> {
  let { gateway } = forwardAuthOf(options.model);
  const { logger, observer, inFlight } = options;
  let decider = buildDecider(options.model, options.engine, logger);

  /** The verdict in the form this proxy carries out. */
  const answerFor = (proxy: ProxyKind, verdict: Verdict, current: Decider, accept: string | undefined): { answer: AuthAnswer; outcome: RequestOutcome } => {
    if (verdict.kind === 'forward') {
      // The response side is the proxy's: what needs plangate to see the response cannot be carried out.
      if (verdict.modifiesResponse) return refused(proxy, 'http-modify', current, accept);
      if (verdict.components?.hardDenial !== undefined)
        return answerFor(proxy, { kind: 'answer', outcome: 'denied', ...verdict.components.hardDenial }, current, accept);
      if (verdict.components !== undefined) return refused(proxy, 'components', current, accept);
      return { answer: allowedAnswer(verdict, current.prefix, current.signatureHeader), outcome: verdict.outcome };
    }
    const answer = { status: verdict.head.status, headers: verdict.head.headers, body: verdict.body };
    if (proxy === 'nginx') {
      const token = sealDenial({ head: verdict.head, body: verdict.body }, current.settings.denialKeys);
      if (token === undefined) return refused(proxy, 'denial-too-large', current, accept);
      return {
        answer: { status: 403, headers: { [DENIAL_HEADER]: token, 'cache-control': 'no-store', 'content-length': '0' }, body: '' },
        outcome: verdict.outcome,
      };
    }
    // A 2xx would tell Caddy, Traefik or Envoy to forward: the answer's body would never be shown.
    if (answer.status < 300) return refused(proxy, 'answer-2xx', current, accept);
    return { answer, outcome: verdict.outcome };
  };

  const refused = (proxy: ProxyKind, reason: string, current: Decider, accept: string | undefined): { answer: AuthAnswer; outcome: RequestOutcome } => {
    logger.event('error', 'forward-auth-unsupported', { proxy, reason });
    const page = errorResponse(FORWARD_AUTH_ERRORS.unsupported(), accept);
    if (proxy !== 'nginx') return { answer: { status: page.head.status, headers: page.head.headers, body: page.body }, outcome: 'error' };
    const token = sealDenial(page, current.settings.denialKeys)!;
    return { answer: { status: 403, headers: { [DENIAL_HEADER]: token, 'cache-control': 'no-store', 'content-length': '0' }, body: '' }, outcome: 'error' };
  };

  /** One decision request; `reply` records the outcome before the answer goes out (the summary is made when the response closes). */
  const handle = async (req: IncomingMessage, reply: Reply, trace: ForwardAuthTrace): Promise<void> => {
    const current = decider;
    const accept = req.headers.accept;
    const endpoint = endpointOf(req.url ?? '', current.settings.pathPrefix);
    if (endpoint.kind === 'unknown') {
      reply('rejected', { head: { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': '10' } }, body: 'not found\n' });
      return;
    }
    const peer = req.socket.remoteAddress ?? '';
    if (!current.trustedPeer(peer)) {
      logger.event('warn', 'forward-auth-untrusted-peer', { peer });
      reply('rejected', errorResponse(FORWARD_AUTH_ERRORS.untrustedPeer(), accept));
      return;
    }
    if (endpoint.kind === 'render') {
      const header = req.headers[DENIAL_HEADER];
      const sealed = openDenial(typeof header === 'string' ? header : undefined, current.settings.denialKeys);
      if (sealed === undefined) {
        logger.event('warn', 'denial-token-invalid', {});
        reply('error', errorResponse(FORWARD_AUTH_ERRORS.badToken(), accept));
        return;
      }
      reply('denied', sealed);
      return;
    }
    const original = originalRequest(endpoint.proxy, req, current.settings);
    if (!original.ok) {
      logger.event('warn', 'forward-auth-bad-request', { proxy: endpoint.proxy, missing: original.missing });
      reply('rejected', errorResponse(FORWARD_AUTH_ERRORS.badRequest(original.missing), accept));
      return;
    }
    trace.requestId = current.pipeline.requestId(original.request);
    trace.client = current.pipeline.clientAddress(original.request);
    trace.path = loggedPath(original.request.url ?? '');
    trace.method = original.request.method ?? '';
    const verdict = await current.pipeline.run(original.request, trace);
    const { answer, outcome } = answerFor(endpoint.proxy, verdict, current, original.request.headers.accept);
    reply(outcome, { head: { status: answer.status, headers: answer.headers }, body: answer.body });
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    const trace: ForwardAuthTrace = { requestId: randomUUID(), route: '-', path: loggedPath(req.url ?? ''), method: req.method ?? '' };
    let outcome: RequestOutcome = 'error';
    const reply: Reply = (done, answer) => {
      outcome = done;
      sendAnswer(res, answer);
    };
    inFlight?.begin(res);
    res.once('close', () => {
      inFlight?.end(res);
      observer?.requestDone({
        ...trace,
        userAgent: req.headers['user-agent']?.slice(0, 512),
        outcome,
        status: res.headersSent ? res.statusCode : 0,
        completed: res.writableFinished,
        totalMs: performance.now() - started,
      });
    });
    // The body of a decision request is never read (proxies send none); Node discards it.
    req.resume();
    handle(req, reply, trace).catch((error: unknown) => {
      logger.event('error', 'gateway-internal-error', { error: (error as Error)?.message, forwardAuth: true });
      if (!res.headersSent) reply('error', errorResponse(FORWARD_AUTH_ERRORS.unsupported(), req.headers.accept));
      else res.destroy();
    });
  });
  // Proxies keep their connections to plangate open (nginx's upstream keepalive lasts 60 s): closing
  // an idle one first would race a request nginx is sending on it.
  server.keepAliveTimeout = 75_000;

  const url = await listenGateway(server, gateway.listen, options.listen);
  return {
    server,
    url,
    swap({ model, engine }) {
      const next = forwardAuthOf(model).gateway;
      refuseGatewayChanges(model.file, gateway, next);
      decider = buildDecider(model, engine, logger);
      gateway = next;
    },
    async close() {
      await closeNow(server);
    },
  };
}
