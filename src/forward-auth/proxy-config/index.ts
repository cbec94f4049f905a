// `plangate proxy-config nginx|caddy|traefik|envoy`: the proxy's side of forward-auth, generated from
// the loaded config, so the injected header set always matches the features (docs/forward-auth.md).
import type { CompiledFeature } from '../../engine/model.js';
import type { GatewayModel } from '../../gateway/model.js';
import type { ProxyKind } from '../adapters.js';
import { caddyConfig } from './caddy.js';
import { envoyConfig } from './envoy.js';
import type { HostPort, ProxyConfigInput } from './input.js';
import { nginxConfig } from './nginx.js';
import { traefikConfig } from './traefik.js';

export type { HostPort, ProxyConfigInput } from './input.js';

export const PROXY_KINDS: readonly ProxyKind[] = ['nginx', 'caddy', 'traefik', 'envoy'];

const GENERATORS: Record<ProxyKind, (input: ProxyConfigInput) => string> = {
  nginx: nginxConfig,
  caddy: caddyConfig,
  traefik: traefikConfig,
  envoy: envoyConfig,
};

export function proxyConfig(kind: ProxyKind, input: ProxyConfigInput): string {
  return GENERATORS[kind](input);
}

export interface ConfigInputOptions {
  /** Where the proxy takes visitors' requests (default 0.0.0.0:80). */
  listen?: HostPort;
  /** Where plangate's decision endpoints are (default: `gateway.listen`). */
  decisions?: HostPort;
  standalone?: { prefix: string };
}

/** The generator's input from a loaded config; throws, saying what to add, when it is not in forward-auth mode. */
export function configInput(model: { file: string; gateway?: GatewayModel; features: readonly CompiledFeature[] }, options: ConfigInputOptions = {}): ProxyConfigInput {
  const gateway = model.gateway;
  if (gateway?.forwardAuth === undefined) {
    throw new Error(`${model.file}: no gateway.forwardAuth section; add \`forwardAuth: {}\` under gateway to run plangate beside a proxy (docs/forward-auth.md)`);
  }
  const listenHost = gateway.listen.host === '0.0.0.0' || gateway.listen.host === '::' ? '127.0.0.1' : gateway.listen.host;
  return {
    file: model.file,
    gateway: { ...gateway, forwardAuth: gateway.forwardAuth },
    features: model.features,
    listen: options.listen ?? { host: '0.0.0.0', port: 80 },
    decisions: options.decisions ?? { host: listenHost, port: gateway.listen.port },
    upstream: new URL(gateway.upstream),
    ...(options.standalone === undefined ? {} : { standalone: options.standalone }),
  };
}
