// One request through the gateway, top to bottom (docs/gateway.md):
// canonical path → route → strip headers → dry run? → identity → decision → enforce → components →
// inject → sign.
// Each stage lives in its own module; this file only calls them in order and returns the verdict:
// an answer the gateway gives itself, or what to forward. The listener carries the verdict out over
// HTTP (send or proxy) or over a websocket upgrade (the same verdict, written to the socket).
import type { EventLogger } from '../events.js';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { DecisionOutcome, Engine } from '../engine/engine.js';
import { missingAnonymousIdSecret } from '../engine/identity/anonymous-ids.js';
import { EngineError } from '../engine/errors.js';
import { RETRY_AFTER_SECONDS } from '../engine/load.js';
import { canonicalizeTarget, type CanonicalPathOptions } from './canonical-path.js';
import { cameOverHttps, clientAddress, compileTrust, meteringNetwork, type RequestSource, type TrustFn } from './client-ip.js';
import { askForWholePage, componentPlan, type ComponentPlan, type PlanResult } from './component-plan.js';
import { readCookies, withoutCookie } from './cookies.js';
import { enforce } from './enforce.js';
import { dryRunOf, type DryRun } from './dry-run.js';
import { errorResponse, ERRORS } from './error-pages.js';
import { resolveGatewayIdentity, type IdentitySettings } from './identity.js';
import { createHeaderInjector } from './inject-headers.js';
import type { GatewayModel, GatewayRoute } from './model.js';
import type { RequestOutcome, RequestTrace } from './observer.js';
import type { ProxyTimeouts } from './proxy.js';
import { addGatewayHeaders, applyHttpBehavior, statusAllowsBody, type BehaviorProblem, type GatewayAdditions, type ResponseHead } from './response-merge.js';
import type { HttpBehavior } from '../engine/types.js';
import { matchRoute } from './routes.js';
import { createHeaderSigner } from './sign-headers.js';
import { setForwardedHeaders, stripClientHeaders } from './strip-headers.js';

export interface PipelineDeps {
  gateway: GatewayModel;
  engine: Engine;
  /** The upstream's `host:port`, sent as `Host` on a signed request that came without one. */
  upstreamHost: string;
  logger: EventLogger;
  /**
   * Who may tell the gateway the client's address and scheme (hop 0 is the socket peer). Default:
   * `gateway.trustProxy`. Forward-auth passes its own: the proxy that asks is hop 0.
   */
  trust?: TrustFn;
  /**
   * Refuse a target whose spelling is not already canonical (400 `path-not-canonical`). Forward-auth
   * sets it: there the proxy forwards the target as the client spelt it, so only a target that is
   * its own canonical form reaches the upstream exactly as it was decided.
   */
  canonicalTargetsOnly?: boolean;
}

/**
 * What the pipeline reads of a request. node's `IncomingMessage` has this shape; forward-auth builds
 * one from the headers its proxy sent (the original method, target, client address and scheme).
 */
export interface PipelineRequest extends RequestSource {
  method?: string;
  url?: string;
  rawHeaders: readonly string[];
}

/** What steps 1 to 3 learnt, handed to the decision steps. */
interface RoutedRequest {
  accept: string | undefined;
  method: string;
  canonical: Extract<ReturnType<typeof canonicalizeTarget>, { ok: true }>;
  target: string;
  route: GatewayRoute;
  headers: IncomingHttpHeaders;
  clientIp: string;
  https: boolean;
  dryRun: DryRun | undefined;
}

export type Verdict =
  /** The gateway answers; the upstream is never contacted. */
  | { kind: 'answer'; outcome: RequestOutcome; head: ResponseHead; body: string }
  | {
      kind: 'forward';
      outcome: 'forwarded' | 'bypassed' | 'denied';
      /** The exact request target the upstream receives. */
      target: string;
      headers: IncomingHttpHeaders;
      shapeHead: (head: ResponseHead) => ResponseHead;
      /** The upstream's body is dropped (a HEAD, a CORS preflight): a dry run never delivers content. */
      bodyless: boolean;
      /** What the gateway adds to this request's answers (the anonymous cookie, private caching): applied by `shapeHead`, and by the proxy to its error pages and to a websocket's 101. */
      additions: GatewayAdditions;
      /** The workflow's `surfaceBehavior.http` modify form changes the upstream's answer (`shapeHead` applies it). */
      modifiesResponse: boolean;
      /** The decision's components, applied to an HTML response as it streams; a soft denial's page must be cut. */
      components?: ComponentPlan;
    };

export interface Pipeline {
  /**
   * The verdict for a request: synchronous when no decision is needed (a rejected path, a bypass
   * route), so the listener forwards in the same tick — deferring the forward by even one microtask
   * cost 15–20 % of bypass throughput in the benchmark — else a promise.
   */
  run(req: PipelineRequest, trace: RequestTrace): Verdict | Promise<Verdict>;
  timeouts: ProxyTimeouts;
  /** This config's limits on open websockets (they follow reloads). */
  websockets: { maxPerClient: number; idleTimeoutMs: number };
  /** The network a client's websockets are counted under: its trustProxy-aware address, IPv6 by /56. */
  clientNetwork(req: RequestSource): string;
  /** The visitor's address as `trustProxy` allows (the access log's `client`; the decision's `clientIP`). */
  clientAddress(req: RequestSource): string;
  /** The request's id: its `X-Request-Id` when a trusted proxy sent a usable one, else a new UUID. */
  requestId(req: RequestSource): string;
}

/** What a request id taken from a trusted proxy may look like: it goes into headers, logs and the signature. */
const USABLE_REQUEST_ID = /^[A-Za-z0-9._:+/=@-]{1,128}$/;

/** Builds the injector and signer once (routes, denials and templates come compiled); returns the per-request stages. */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const { gateway, engine, logger } = deps;
  const pathOptions: CanonicalPathOptions = { caseSensitive: gateway.caseSensitive, allowPathParameters: gateway.allowPathParameters };
  const trust = deps.trust ?? compileTrust(gateway.trustProxy);
  const prefix = gateway.headerPrefix.toLowerCase();
  const inject = createHeaderInjector({ prefix, injectDecision: gateway.injectDecision, logger });
  if (engine.anonymousIds === undefined) throw new Error(missingAnonymousIdSecret(gateway.file));
  const identitySettings: IdentitySettings = {
    ...gateway,
    verifier: engine.verifier,
    anonymousIds: engine.anonymousIds,
    newIdAllowed: (networkId) => engine.newAnonymousIdAllowed(networkId),
    logger,
  };
  const requestIdHeader = `${prefix}request-id`;
  const sign = gateway.signing === undefined ? undefined : createHeaderSigner(gateway.signing, prefix);

  function run(req: PipelineRequest, trace: RequestTrace): Verdict | Promise<Verdict> {
    const method = req.method ?? 'GET';

    // 1. canonical path
    const canonical = canonicalizeTarget(req.url ?? '', pathOptions);
    if (!canonical.ok) {
      logger.event('info', 'gateway-path-rejected', { reason: canonical.reason });
      return { kind: 'answer', outcome: 'rejected', ...errorResponse(ERRORS.badPath(canonical.reason), req.headers.accept) };
    }
    const target = canonical.path + canonical.query;
    if (deps.canonicalTargetsOnly === true && target !== req.url) {
      logger.event('info', 'gateway-path-rejected', { reason: 'not-canonical' });
      return { kind: 'answer', outcome: 'rejected', ...errorResponse(ERRORS.badPath('not-canonical'), req.headers.accept) };
    }

    // 2. route (the config guarantees a final catch-all)
    const route = matchRoute(gateway.routes, canonical.segments, method);
    if (route === undefined) return { kind: 'answer', outcome: 'rejected', ...errorResponse(ERRORS.badPath('no-route'), req.headers.accept) };
    trace.route = route.path;

    // 3. strip headers (every request, bypass included), then X-Forwarded-*
    const peerAddress = req.socket.remoteAddress ?? '';
    const trustedPeer = trust(peerAddress, 0);
    const headers = stripClientHeaders({ rawHeaders: req.rawHeaders, headers: req.headers, prefix, dropForwarding: !trustedPeer });
    setForwardedHeaders(headers, req.headers, { peerAddress, encrypted: req.socket.encrypted === true, trusted: trustedPeer });
    headers[requestIdHeader] = trace.requestId;
    headers['x-request-id'] = trace.requestId;

    if (route.bypass === true) {
      sign?.({ method, target, requestId: trace.requestId, headers, defaultHost: deps.upstreamHost });
      return { kind: 'forward', outcome: 'bypassed', target, headers, shapeHead: unchanged, bodyless: false, additions: UNDECIDED, modifiesResponse: false };
    }
    trace.surface = route.surface;

    // 4. dry run: a prefetch of a guarded route is refused before anything is decided (a
    // report-only route consumes nothing, so its prefetches need no refusal)
    const dryRun = dryRunOf(method, req.headers);
    if (dryRun === 'prefetch' && route.guarded && route.enforce) return prefetchRefused(req.headers.accept);
    const clientIp = trace.client ?? clientAddress(req, trust);
    const https = cameOverHttps(req, trust);
    return decideAndEnforce(req, trace, { accept: req.headers.accept, method, canonical, target, route, headers, clientIp, https, dryRun });
  }

  /** Steps 5 to 9, for routes with a surface. */
  async function decideAndEnforce(req: PipelineRequest, trace: RequestTrace, at: RoutedRequest): Promise<Verdict> {
    const { accept, method, canonical, target, route, headers, clientIp, https, dryRun } = at;

    // 5. identity
    const decisionStarted = performance.now();
    const bearerAllowed = route.bearer !== false;
    const cookies = readCookies(req.headers.cookie);
    const who =
      trace.explain?.identity !== undefined
        ? { ok: true as const, identity: trace.explain.identity }
        : await resolveGatewayIdentity(identitySettings, {
            cookies,
            authorization: bearerAllowed ? req.headers.authorization : undefined,
            clientIp,
            https,
          });
    if (!who.ok) return { kind: 'answer', outcome: 'rejected', ...errorResponse(ERRORS.invalidToken(), accept) };
    trace.identityType = who.identity.authType === 'jwt' ? 'jwt' : 'anonymous';
    if (!gateway.forwardCredentials) {
      // Set to undefined, never deleted (a deleted property makes the object a slow dictionary):
      // undefined headers are not sent.
      if (headers.cookie !== undefined) headers.cookie = withoutCookie(headers.cookie, gateway.jwtCookie);
      if (bearerAllowed && headers.authorization !== undefined) headers.authorization = undefined;
    }
    const additions: GatewayAdditions = { setCookies: who.setCookie ? [who.setCookie] : [], privateCache: true };

    // 6. decision
    let outcome: DecisionOutcome;
    try {
      outcome = await engine.decide({
        surfaceSlug: route.surface!,
        identity: { resolved: who.identity },
        trusted: false,
        resource: route.resourceId === 'none' ? undefined : { id: canonical.matchPath },
        context: { http: { url: target, method: req.method, userAgent: req.headers['user-agent'], clientIP: clientIp, referer: req.headers.referer } },
        // Report-only routes and explain decide as a dry run: nothing is ever consumed.
        dryRun: dryRun !== undefined || !route.enforce || trace.explain !== undefined,
        route: { require: route.requireRef, consume: route.consumeRefs, components: route.components },
        trace: trace.explain?.decision,
      });
    } catch (error) {
      // Load shed (engine/load.ts): nothing was read or recorded; the visitor is told to come back.
      if (error instanceof EngineError && error.code === 'overloaded')
        return { kind: 'answer', outcome: 'shed', ...errorResponse(ERRORS.overloaded(RETRY_AFTER_SECONDS), accept) };
      logger.event('error', 'gateway-decision-failed', { error: (error as Error).message, route: route.index });
      return { kind: 'answer', outcome: 'error', ...errorResponse(ERRORS.decisionFailed(), accept) };
    }
    trace.decisionMs = performance.now() - decisionStarted;
    trace.plans = outcome.plans;
    trace.degraded = outcome.decision.degraded === true;
    // A surface workflow's own consume() is known only now: its prefetch is refused like a guarded route's.
    if (dryRun === 'prefetch' && outcome.recordsUsage && route.enforce) return prefetchRefused(accept);
    if (!route.enforce) return reportOnly(trace, at, outcome, additions);

    if (outcome.denied) trace.deniedFeature = outcome.deniedBy?.feature ?? '-';

    // 7. enforce
    const problem = (what: string) => logger.event('warn', 'invalid-http-behavior', { problem: what, route: route.index });
    const enforcement = enforce(route.denial, outcome, { target, accept }, problem);
    if (enforcement.kind === 'answer') {
      return { kind: 'answer', outcome: enforcement.outcome, head: addGatewayHeaders(enforcement.head, additions), body: enforcement.body };
    }

    // 8. components: what the response gets cut and decorated with (a soft denial must cut, or gets its hard denial)
    const hardDenial = enforcement.hardDenial && { head: addGatewayHeaders(enforcement.hardDenial.head, additions), body: enforcement.hardDenial.body };
    const components = componentPlan(outcome.decision, hardDenial);
    if (components.kind === 'refuse') {
      logger.event('warn', 'soft-denial-replaced', { reason: 'no-cut', detail: 'no component of the decision removes an element or cuts a range', route: route.index });
      return { kind: 'answer', outcome: 'denied', head: hardDenial!.head, body: hardDenial!.body };
    }
    if (components.kind === 'apply') askForWholePage(headers);

    // 9. inject, 10. sign (the head is merged as the upstream's response passes)
    inject(outcome, { forwardedDenial: enforcement.forwardedDenial, dryRun: dryRun !== undefined }, headers as Record<string, string>);
    sign?.({ method, target, requestId: trace.requestId, headers, defaultHost: deps.upstreamHost });
    const http = enforcement.http;
    return forwardDecided(at, headers, enforcement.forwardedDenial ? 'denied' : 'forwarded', additions, { http, problem, components });
  }

  /** The forward of a decided request: its head shaped by the workflow's `http` (if any) and the gateway's additions. */
  function forwardDecided(
    at: RoutedRequest,
    headers: IncomingHttpHeaders,
    outcome: 'forwarded' | 'denied',
    additions: GatewayAdditions,
    shaping: { http?: HttpBehavior; problem: BehaviorProblem; components: PlanResult },
  ): Verdict {
    const { dryRun } = at;
    const { http, problem, components } = shaping;
    return {
      kind: 'forward',
      outcome,
      target: at.target,
      headers,
      shapeHead: (head) => {
        const shaped = addGatewayHeaders(http ? applyHttpBehavior(head, http, problem) : head, additions);
        return dryRun === 'preflight' ? withoutBody(shaped) : shaped;
      },
      bodyless: dryRun === 'head' || dryRun === 'preflight',
      additions,
      modifiesResponse: http !== undefined,
      components: components.kind === 'apply' ? components.plan : undefined,
    };
  }

  /**
   * Report-only (`enforce: false`): the decision was dry; a denial is counted and logged as "would
   * deny" and told to the upstream, and the request is forwarded whatever the decision or the
   * workflow's `http` says. Nothing blocks, cuts or consumes.
   */
  function reportOnly(trace: RequestTrace, at: RoutedRequest, outcome: DecisionOutcome, additions: GatewayAdditions): Verdict {
    const { route, headers, method, target, dryRun } = at;
    if (outcome.denied) {
      const reason = outcome.denialReason ?? 'requirement';
      const feature = outcome.deniedBy?.feature ?? '-';
      trace.wouldDeny = { reason, feature };
      logger.event('info', 'would-deny', { requestId: trace.requestId, route: route.path, feature, reason });
    }
    inject(outcome, { forwardedDenial: false, dryRun: dryRun !== undefined, reportOnly: true }, headers as Record<string, string>);
    sign?.({ method, target, requestId: trace.requestId, headers, defaultHost: deps.upstreamHost });
    return forwardDecided(at, headers, 'forwarded', additions, { problem: NO_PROBLEM, components: NO_COMPONENTS });
  }

  return {
    run,
    timeouts: { headerTimeoutMs: gateway.headerTimeoutMs, idleTimeoutMs: gateway.idleTimeoutMs },
    websockets: gateway.websockets,
    clientNetwork: (req) => meteringNetwork(clientAddress(req, trust)),
    clientAddress: (req) => clientAddress(req, trust),
    requestId(req) {
      const given = req.headers['x-request-id'];
      if (typeof given === 'string' && USABLE_REQUEST_ID.test(given) && trust(req.socket.remoteAddress ?? '', 0)) return given;
      return randomUUID();
    },
  };
}

const unchanged = (head: ResponseHead): ResponseHead => head;
const NO_PROBLEM: BehaviorProblem = () => {};
/** Report-only pages are never cut (nor decorated). */
const NO_COMPONENTS: PlanResult = { kind: 'none' };

/** A bypass route's answers: passed through as the upstream sent them. */
const UNDECIDED: GatewayAdditions = Object.freeze({ setCookies: Object.freeze([]) as readonly string[], privateCache: false });

/** The gateway's answer to a prefetch that would consume: not cacheable, and non-2xx so the browser fetches again on navigation. */
function prefetchRefused(accept: string | undefined): Verdict {
  return { kind: 'answer', outcome: 'prefetch-refused', ...errorResponse(ERRORS.prefetchRefused(), accept) };
}

/** A preflight's head with its body dropped: the length says so (HEAD keeps the length of the body it never gets). */
function withoutBody(head: ResponseHead): ResponseHead {
  if (statusAllowsBody(head.status)) head.headers['content-length'] = '0';
  return head;
}
