// The transport adapters of forward-auth (docs/forward-auth.md): how each proxy tells plangate about the
// original request, and how each one wants the verdict back. Everything between (canonical path,
// route, identity, the decision, denials, injected and signed headers) is the gateway's own pipeline.
//
//   nginx   `auth_request`: the original method and target in `X-Original-Method` / `X-Original-URI`
//           (configurable); only 2xx, 401 and 403 pass, so plangate's own answers go back as a 403
//           with a denial token (denial-token.ts) that nginx's named location renders.
//   caddy   `forward_auth` and traefik `forwardAuth`: always GET, the original in `X-Forwarded-Method`,
//   traefik `-Uri`, `-Host`, `-Proto`, `-For`; a non-2xx answer goes to the client as it is.
//   envoy   `ext_authz` (HTTP service): the original method, the original path after a prefix, the
//           allowed headers; only 200 allows (never 204), anything else goes to the client.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { PipelineRequest, Verdict } from '../gateway/pipeline.js';
import type { ForwardAuthSettings } from '../gateway/model.js';
import type { HeaderRecord } from '../gateway/response-merge.js';

export type ProxyKind = 'nginx' | 'caddy' | 'traefik' | 'envoy';

export type Endpoint =
  | { kind: 'decide'; proxy: ProxyKind }
  /** nginx's named location: render the denial token, decide nothing. */
  | { kind: 'render' }
  | { kind: 'unknown' };

/** Which endpoint a request to the decision listener is for (`<pathPrefix>/nginx`, ...). */
export function endpointOf(url: string, prefix: string): Endpoint {
  if (!url.startsWith(prefix) || (url.length > prefix.length && url[prefix.length] !== '/')) return { kind: 'unknown' };
  const rest = url.slice(prefix.length);
  const query = rest.indexOf('?');
  const path = query === -1 ? rest : rest.slice(0, query);
  if (path === '/nginx') return { kind: 'decide', proxy: 'nginx' };
  if (path === '/nginx/denied') return { kind: 'render' };
  if (path === '/caddy') return { kind: 'decide', proxy: 'caddy' };
  if (path === '/traefik') return { kind: 'decide', proxy: 'traefik' };
  if (path === '/envoy' || path.startsWith('/envoy/') || rest.startsWith('/envoy?')) return { kind: 'decide', proxy: 'envoy' };
  return { kind: 'unknown' };
}

export type Original = { ok: true; request: PipelineRequest } | { ok: false; missing: string };

const METHOD = /^[A-Z]{1,20}$/;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

/**
 * The original request, as the proxy describes it. Call it only for a trusted peer: these headers
 * are the proxy's word, and a client could send them too.
 */
export function originalRequest(proxy: ProxyKind, req: IncomingMessage, settings: ForwardAuthSettings): Original {
  let method: string | undefined;
  let url: string | undefined;
  let headers: IncomingHttpHeaders = req.headers;
  if (proxy === 'nginx') {
    method = single(req.headers[settings.originalMethodHeader]);
    url = single(req.headers[settings.originalUriHeader]);
    if (method === undefined) return { ok: false, missing: settings.originalMethodHeader };
    if (url === undefined) return { ok: false, missing: settings.originalUriHeader };
  } else if (proxy === 'envoy') {
    method = req.method;
    // The original path follows the prefix: `/auth/envoy/articles/x?y` is `/articles/x?y`.
    const rest = (req.url ?? '').slice(settings.pathPrefix.length + '/envoy'.length);
    url = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
  } else {
    method = single(req.headers['x-forwarded-method']);
    url = single(req.headers['x-forwarded-uri']);
    if (method === undefined) return { ok: false, missing: 'x-forwarded-method' };
    if (url === undefined) return { ok: false, missing: 'x-forwarded-uri' };
    // The request to plangate is the proxy's own; the site's host is the forwarded one.
    const host = single(req.headers['x-forwarded-host']);
    if (host !== undefined) headers = { ...req.headers, host };
  }
  if (method === undefined || !METHOD.test(method)) return { ok: false, missing: 'a valid method' };
  return { ok: true, request: { method, url, headers, rawHeaders: req.rawHeaders, socket: req.socket } };
}

/** What plangate answers the proxy. */
export interface AuthAnswer {
  status: number;
  headers: HeaderRecord;
  body: string;
}

/** The response header telling the proxy's config that the request was decided (make the answer private, drop CDN caching headers). */
export const PRIVATE_HEADER = 'plangate-private';
/** The response header carrying nginx's denial token. */
export const DENIAL_HEADER = 'plangate-denial';

/**
 * The allowed answer: 200 (Envoy allows on 200 only), the headers for the upstream (every injected
 * `<prefix>*` header, the request id and the signature), the anonymous cookie for the client, and the
 * private marker on decided requests. Never cacheable itself.
 */
export function allowedAnswer(verdict: Extract<Verdict, { kind: 'forward' }>, prefix: string, signatureHeader: string): AuthAnswer {
  const headers: HeaderRecord = { 'cache-control': 'no-store', 'content-length': '0' };
  for (const name in verdict.headers) {
    const value = verdict.headers[name];
    if (typeof value === 'string' && (name.startsWith(prefix) || name === signatureHeader)) headers[name] = value;
  }
  if (verdict.additions.setCookies.length > 0) headers['set-cookie'] = [...verdict.additions.setCookies];
  if (verdict.additions.privateCache) headers[PRIVATE_HEADER] = '1';
  return { status: 200, headers, body: '' };
}
