// What every generated proxy config is made from: the loaded config (its features decide the injected
// header set), where the proxy listens, where plangate's decision endpoints are, and the site.
import type { CompiledFeature } from '../../engine/model.js';
import { injectedHeaderNames } from '../../gateway/inject-headers.js';
import type { ForwardAuthSettings, GatewayModel } from '../../gateway/model.js';
import { DENIAL_HEADER, PRIVATE_HEADER } from '../adapters.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ProxyConfigInput {
  /** The YAML file, named in the generated file's first lines. */
  file: string;
  gateway: GatewayModel & { forwardAuth: ForwardAuthSettings };
  features: readonly CompiledFeature[];
  /** Where the proxy takes visitors' requests. */
  listen: HostPort;
  /** Where plangate's decision endpoints listen (`gateway.listen`, 0.0.0.0 shown as 127.0.0.1). */
  decisions: HostPort;
  /** The site the proxy forwards to (`gateway.upstream`). */
  upstream: URL;
  /** nginx: a whole nginx.conf with its pid, logs and temp files under this directory (tests, benchmarks). Caddy: global options for a private run. */
  standalone?: { prefix: string };
}

/** CDN caching headers removed from decided responses (they would let a CDN store one visitor's page for everyone). */
export const CDN_HEADERS = ['CDN-Cache-Control', 'Cloudflare-CDN-Cache-Control', 'Vercel-CDN-Cache-Control', 'Surrogate-Control', 'Edge-Control'];

export interface HeaderSet {
  /** Every header plangate may hand the proxy for the upstream, lowercase: injected ones, the request id, the signature. */
  upstream: string[];
  prefix: string;
  denial: string;
  private: string;
}

export function headerSet(input: ProxyConfigInput): HeaderSet {
  const { gateway } = input;
  const prefix = gateway.headerPrefix.toLowerCase();
  const upstream = injectedHeaderNames(prefix, input.features, gateway.injectDecision);
  upstream.push(`${prefix}request-id`);
  if (gateway.signing !== undefined) upstream.push(gateway.signing.header ?? `${prefix}signature`);
  return { upstream, prefix, denial: DENIAL_HEADER, private: PRIVATE_HEADER };
}

export const hostPort = ({ host, port }: HostPort): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** `X-Plangate-Articles--Enabled`: the canonical spelling proxies print. */
export const titleCase = (name: string): string => name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
