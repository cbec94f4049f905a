// One request through the gateway, top to bottom (PRODUCT.md §3):
// canonical path → route → strip headers → identity → decision → enforce → inject → proxy.
// Each stage lives in its own module; this file only calls them in order and decides who answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { DecisionOutcome, EngineApi, EngineLogger } from '../engine/engine.js';
import type { CompiledRoute, Model } from '../engine/model.js';
import { canonicalizeTarget, type CanonicalPathOptions } from './canonical-path.js';
import { cameOverHttps, clientAddress, compileTrust } from './client-ip.js';
import { readCookies, withoutCookie } from './cookies.js';
import { compileDenial, compileTemplate, defaultTemplateFile, type Denial, type Template } from './deny.js';
import { enforce } from './enforce.js';
import { errorResponse, ERRORS } from './error-pages.js';
import { resolveGatewayIdentity, type IdentitySettings } from './identity.js';
import { createHeaderInjector } from './inject-headers.js';
import type { UpstreamProxy } from './proxy.js';
import { addGatewayHeaders, applyHttpBehavior, type GatewayAdditions } from './response-merge.js';
import { compileRoutes, matchRoute, type MatchableRoute } from './routes.js';
import { sendAnswer } from './send.js';
import { setForwardedHeaders, stripClientHeaders } from './strip-headers.js';

type GatewayModel = NonNullable<Model['gateway']>;

export interface PipelineDeps {
  model: Model;
  gateway: GatewayModel;
  engine: EngineApi;
  proxy: UpstreamProxy;
  logger: EngineLogger;
}

export type RequestOutcome = 'forwarded' | 'bypassed' | 'denied' | 'answered' | 'rejected' | 'error';

/** Builds everything once (routes, denials, templates, injector); returns the per-request handler. */
export function createPipeline(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => Promise<RequestOutcome> {
  const { gateway, engine, proxy, logger } = deps;
  const pathOptions: CanonicalPathOptions = { caseSensitive: gateway.caseSensitive, allowPathParameters: gateway.allowPathParameters };
  const routes = compileRoutes<CompiledRoute>(gateway.compiledRoutes, { caseSensitive: gateway.caseSensitive });
  const configDir = dirname(deps.model.file);
  const defaultTemplate = compileTemplate(
    gateway.paywallTemplate === undefined ? defaultTemplateFile() : isAbsolute(gateway.paywallTemplate) ? gateway.paywallTemplate : resolve(configDir, gateway.paywallTemplate),
  );
  const templates = new Map<string, Template>();
  const denials = new Map<MatchableRoute<CompiledRoute>, Denial>(routes.map((r) => [r, compileDenial(r.route, defaultTemplate, configDir, templates)]));
  const trust = compileTrust(gateway.trustProxy);
  const prefix = gateway.headerPrefix.toLowerCase();
  const inject = createHeaderInjector({ prefix, injectDecision: gateway.injectDecision, logger });
  const identitySettings: IdentitySettings = { ...gateway, verifier: engine.verifier, logger };

  return async function handle(req, res) {
    const accept = req.headers.accept;

    // 1. canonical path
    const canonical = canonicalizeTarget(req.url ?? '', pathOptions);
    if (!canonical.ok) {
      logger.event('info', 'gateway-path-rejected', { reason: canonical.reason });
      sendAnswer(res, errorResponse(ERRORS.badPath(canonical.reason), accept));
      return 'rejected';
    }
    const target = canonical.path + canonical.query;

    // 2. route (the config guarantees a final catch-all)
    const matched = matchRoute(routes, canonical.segments, req.method ?? 'GET');
    if (matched === undefined) {
      sendAnswer(res, errorResponse(ERRORS.badPath('no-route'), accept));
      return 'rejected';
    }
    const route = matched.route;

    // 3. strip headers (every request, bypass included), then X-Forwarded-*
    const clientIp = clientAddress(req, trust);
    const https = cameOverHttps(req, trust);
    const headers = stripClientHeaders({ rawHeaders: req.rawHeaders, headers: req.headers, prefix });
    const peerAddress = req.socket.remoteAddress ?? '';
    setForwardedHeaders(headers, req.headers, { peerAddress, encrypted: (req.socket as { encrypted?: boolean }).encrypted === true, trust });

    if (route.bypass === true) {
      proxy.forward({ req, res, target, headers, shapeHead: (head) => head });
      return 'bypassed';
    }

    // 4. identity
    const bearerAllowed = route.bearer !== false;
    const cookies = readCookies(req.headers.cookie);
    const who = await resolveGatewayIdentity(identitySettings, { cookies, authorization: bearerAllowed ? req.headers.authorization : undefined, clientIp, https });
    if (!who.ok) {
      sendAnswer(res, errorResponse(ERRORS.invalidToken(), accept));
      return 'rejected';
    }
    if (!gateway.forwardCredentials) {
      const cookie = headers.cookie === undefined ? undefined : withoutCookie(headers.cookie, gateway.jwtCookie);
      if (cookie === undefined) delete headers.cookie;
      else headers.cookie = cookie;
      if (bearerAllowed) delete headers.authorization;
    }
    const additions: GatewayAdditions = { setCookies: who.setCookie ? [who.setCookie] : [], privateCache: true };

    // 5. decision
    let outcome: DecisionOutcome;
    try {
      outcome = await engine.decide({
        surfaceSlug: route.surface!,
        identity: { resolved: who.identity },
        trusted: false,
        resource: route.resourceId === 'none' ? undefined : { id: canonical.matchPath },
        context: { http: { url: target, method: req.method, userAgent: req.headers['user-agent'], clientIP: clientIp, referer: req.headers.referer } },
        dryRun: isDryRun(req),
        route: { require: route.requireRef, consume: route.consumeRefs },
      });
    } catch (error) {
      logger.event('error', 'gateway-decision-failed', { error: (error as Error).message, route: route.index });
      sendAnswer(res, errorResponse(ERRORS.decisionFailed(), accept));
      return 'error';
    }

    // 6. enforce
    const problem = (what: string) => logger.event('warn', 'invalid-http-behavior', { problem: what, route: route.index });
    const enforcement = enforce(denials.get(matched)!, outcome, { target, accept }, problem);
    if (enforcement.kind === 'answer') {
      sendAnswer(res, { head: addGatewayHeaders(enforcement.head, additions), body: enforcement.body });
      return enforcement.outcome;
    }

    // 7. inject, 8. proxy (the head is merged as the upstream's response passes)
    Object.assign(headers, inject(outcome, enforcement.forwardedDenial));
    const http = enforcement.http;
    proxy.forward({
      req,
      res,
      target,
      headers,
      shapeHead: (head) => addGatewayHeaders(http ? applyHttpBehavior(head, http, problem) : head, additions),
      errorHeaders: additions.setCookies.length > 0 ? { 'set-cookie': [...additions.setCookies] } : undefined,
    });
    return enforcement.forwardedDenial ? 'denied' : 'forwarded';
  };
}

/** HEAD, OPTIONS and prefetches are decided as if consumed, but record nothing. */
function isDryRun(req: IncomingMessage): boolean {
  if (req.method === 'HEAD' || req.method === 'OPTIONS') return true;
  const purpose = req.headers['sec-purpose'] ?? req.headers.purpose;
  return typeof purpose === 'string' && purpose.toLowerCase().includes('prefetch');
}
