// The gateway's compiled model: what config/ builds from the `gateway` section once per load (route
// patterns, denials with their templates read, settings with defaults). The gateway only reads it;
// nothing here is parsed per request. The rules that make a section valid live in
// src/config/route-rules.ts (docs/architecture.md "Where each rule lives").
import type { CompiledComponent, CompiledTemplate, DeclaredConsumption } from '../engine/model.js';

/** One segment of a route pattern, in the canonical form request paths take (canonical-path.ts). */
export type PatternSegment = { kind: 'literal'; text: string } | { kind: 'one' } | { kind: 'rest' };

/** A paywall page's template, compiled once at load (src/config/templates.ts). */
export type Template = CompiledTemplate;

/**
 * What a denied request gets. `soft` (paywall and redirect only): the request is forwarded without
 * consuming and the page goes out cut by the surface's components; any response that cannot be cut
 * gets this paywall or redirect instead (docs/components.md "Soft paywalls").
 */
export type Denial =
  | { action: 'paywall'; status: number; template: Template; soft: boolean }
  | { action: 'redirect'; status: number; url: string; returnParam: string; soft: boolean }
  | { action: 'forward' };

export interface GatewayRoute {
  /** Position in `gateway.routes` (logs name routes by it). */
  index: number;
  /** The pattern as written in the config: the route's name in logs and metrics. */
  path: string;
  pattern: readonly PatternSegment[];
  /** Upper-case methods, HEAD implied by GET; undefined = every method. */
  methods?: ReadonlySet<string>;
  /** Undefined on a bypass route. */
  surface?: string;
  bypass?: boolean;
  resourceId?: 'path' | 'none';
  /** false: `Authorization: Bearer` is not read on this route. */
  bearer?: boolean;
  requireRef?: DeclaredConsumption;
  consumeRefs: readonly DeclaredConsumption[];
  /** The route requires or consumes something (declared on it or its surface): prefetches of it are refused. */
  guarded: boolean;
  denial: Denial;
  /** Components declared on the route (the engine applies them after the surface's). */
  components: readonly CompiledComponent[];
  /** false: report-only (decide, inject, count "would deny"; never block, cut or consume). */
  enforce: boolean;
}

export interface SigningKey {
  id: string;
  secret: string;
}

export interface GatewayModel {
  /** Absolute path of the config file (error messages name it). */
  file: string;
  listen: { host: string; port: number };
  upstream: string;
  /** In config order; the last one is the catch-all `/**`. */
  routes: readonly GatewayRoute[];
  caseSensitive: boolean;
  allowPathParameters: boolean;
  trustProxy: boolean | number;
  headerPrefix: string;
  injectDecision: boolean;
  jwtCookie: string;
  anonymousCookie: string;
  anonymousMetering: 'cookie' | 'cookie+ip';
  invalidJwt: 'anonymous' | 'reject';
  forwardCredentials: boolean;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  websockets: { maxPerClient: number; idleTimeoutMs: number };
  signing?: { keys: readonly SigningKey[]; header?: string };
  /** Set in forward-auth mode: plangate decides beside a proxy instead of forwarding (docs/forward-auth.md). */
  forwardAuth?: ForwardAuthSettings;
}

export interface ForwardAuthSettings {
  /** `/auth`: the endpoints are `<pathPrefix>/nginx`, `/nginx/denied`, `/caddy`, `/traefik`, `/envoy/<path>`. */
  pathPrefix: string;
  /** Addresses and CIDR ranges (proxy-addr's syntax) whose original-request headers are trusted. */
  proxies: readonly string[];
  /** Lowercase names of nginx's original-method and original-URI headers. */
  originalMethodHeader: string;
  originalUriHeader: string;
  /** The keys that seal nginx's denial tokens: the signing keys, else the anonymous-id keys; the first seals, all open. */
  denialKeys: readonly SigningKey[];
}

/** What the listener is started and swapped with: a loaded config (src/config/load.ts) has this shape. */
export interface GatewaySource {
  file: string;
  gateway?: GatewayModel;
}
