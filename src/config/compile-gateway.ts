// The `gateway` section → the gateway's model (src/gateway/model.ts), once per load: route patterns
// in canonical form, each route's denial with its paywall template (compiled by templates.ts), its
// declared components and whether it enforces, settings with their defaults. The gateway reads the result and compiles nothing itself.
import type { Denial, GatewayModel, GatewayRoute } from '../gateway/model.js';
import { toConsumption } from './compile.js';
import { compileComponent } from './components.js';
import { DEFAULT_PAYWALL_KEY, templateKey, type Templates } from './templates.js';
import { routeGuards } from './route-guards.js';
import { compileMethods, compilePattern } from './route-rules.js';
import type { ConfigFile, GatewayConfig, RouteConfig } from './schema.js';

function compileDenial(route: RouteConfig, index: number, templates: Templates): Denial {
  const deny = route.deny;
  if (deny?.action === 'forward') return { action: 'forward' };
  const soft = deny?.mode === 'soft';
  if (deny?.action === 'redirect') return { action: 'redirect', status: deny.status ?? 302, url: deny.url ?? '/', returnParam: deny.returnParam ?? 'return', soft };
  const key = deny?.template === undefined ? DEFAULT_PAYWALL_KEY : templateKey(['gateway', 'routes', index, 'deny', 'template']);
  return { action: 'paywall', status: deny?.status ?? 402, template: templates.get(key)!, soft };
}

export function compileGateway(config: ConfigFile, file: string, templates: Templates): GatewayModel | undefined {
  const gateway: GatewayConfig | undefined = config.gateway;
  if (gateway === undefined) return undefined;
  const routes = gateway.routes.map((route, index): GatewayRoute => {
    const compiled: GatewayRoute = {
      index,
      path: route.path,
      pattern: compilePattern(route.path, gateway.caseSensitive),
      consumeRefs: (route.consume ?? []).map(toConsumption),
      guarded: routeGuards(route, config.surfaces),
      denial: compileDenial(route, index, templates),
      components: Object.entries(route.components ?? {}).map(([slug, component]) =>
        compileComponent(slug, component, ['gateway', 'routes', index, 'components', slug], templates),
      ),
      enforce: route.enforce ?? gateway.enforce,
    };
    const methods = compileMethods(route.methods);
    if (methods !== undefined) compiled.methods = methods;
    if (route.surface !== undefined) compiled.surface = route.surface;
    if (route.bypass !== undefined) compiled.bypass = route.bypass;
    if (route.resourceId !== undefined) compiled.resourceId = route.resourceId;
    if (route.bearer !== undefined) compiled.bearer = route.bearer;
    if (route.require !== undefined) compiled.requireRef = toConsumption(route.require);
    return compiled;
  });
  const model: GatewayModel = {
    file,
    listen: gateway.listen,
    upstream: gateway.upstream,
    routes,
    caseSensitive: gateway.caseSensitive,
    allowPathParameters: gateway.allowPathParameters,
    trustProxy: gateway.trustProxy,
    headerPrefix: gateway.headerPrefix,
    injectDecision: gateway.injectDecision,
    jwtCookie: gateway.jwtCookie,
    anonymousCookie: gateway.anonymousCookie,
    anonymousMetering: gateway.anonymousMetering,
    invalidJwt: gateway.invalidJwt,
    forwardCredentials: gateway.forwardCredentials,
    headerTimeoutMs: gateway.headerTimeoutMs,
    idleTimeoutMs: gateway.idleTimeoutMs,
    websockets: gateway.websockets,
  };
  if (gateway.signing !== undefined) model.signing = gateway.signing;
  if (gateway.forwardAuth !== undefined) {
    const { pathPrefix, proxies, originalMethodHeader, originalUriHeader } = gateway.forwardAuth;
    const denialKeys = gateway.signing?.keys ?? config.anonymousIds?.keys ?? [];
    model.forwardAuth = { pathPrefix, proxies, originalMethodHeader, originalUriHeader, denialKeys };
  }
  return model;
}
