// What the client sent, minus everything it must not be able to tell the upstream (PRODUCT.md §3).
// Runs on every request, bypass routes included, before anything is injected: a client that names an
// injected header in `Connection` or sends it itself cannot affect what the gateway adds afterwards.
import type { IncomingHttpHeaders } from 'node:http';

/** Connection-scoped headers (RFC 9110 §7.6.1 plus the common non-standard ones). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
]);

/** Headers some servers and frameworks treat as the real request target: never let a client set them. */
const REWRITE_HEADERS = new Set(['x-original-url', 'x-rewrite-url']);

/** Client claims about the path to the gateway, dropped unless the peer is a trusted proxy. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip'];
const FORWARDING_SET = new Set(FORWARDING_HEADERS);

export interface StripInput {
  /** `req.rawHeaders`: names as sent, every duplicate present (Node's `req.headers` drops some). */
  rawHeaders: readonly string[];
  /** `req.headers`: Node's merged view, keyed by lowercased name. */
  headers: IncomingHttpHeaders;
  /** The gateway's lowercase header prefix, e.g. `x-plangate-`. */
  prefix: string;
  /** Also leave out the client's forwarding claims (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`): the peer is not a trusted proxy. */
  dropForwarding?: boolean;
}

/**
 * The headers to forward: a new object, the input is not modified. Built by copying what may pass
 * (never by deleting from a copy: a deleted property turns a V8 object into a slow dictionary).
 */
export function stripClientHeaders({ rawHeaders, headers, prefix, dropForwarding = false }: StripInput): IncomingHttpHeaders {
  let dropped: Set<string> | undefined;
  let named: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i].toLowerCase();
    // `_` and `-` are the same character to CGI-style upstreams (PHP, nginx with underscores on).
    const normal = lower.includes('_') ? lower.replaceAll('_', '-') : lower;
    // An underscore spelling of a forwarding header (`X_Forwarded_For`) is never a proxy's: the gateway
    // sets the dash spellings itself, and a CGI-style upstream would read this one as them.
    const forwardingSpelledOtherwise = normal !== lower && FORWARDING_SET.has(normal);
    if (normal.startsWith(prefix) || HOP_BY_HOP.has(normal) || REWRITE_HEADERS.has(normal) || forwardingSpelledOtherwise) (dropped ??= new Set()).add(lower);
    if (normal === 'connection') {
      for (const token of rawHeaders[i + 1].split(',')) (named ??= new Set()).add(token.trim().toLowerCase().replaceAll('_', '-'));
    }
  }
  if (named !== undefined) {
    named.delete('host'); // the upstream must still see which site was asked for
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const lower = rawHeaders[i].toLowerCase();
      if (named.has(lower.replaceAll('_', '-'))) (dropped ??= new Set()).add(lower);
    }
  }
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (dropped?.has(name) || (dropForwarding && FORWARDING_SET.has(name))) continue;
    out[name] = headers[name];
  }
  return out;
}

export interface ForwardedView {
  /** The socket peer's address. */
  peerAddress: string;
  /** Whether the connection to the gateway is TLS. */
  encrypted: boolean;
  /** Whether the peer is a trusted proxy (`trustProxy` applied to the peer, hop 0). */
  trusted: boolean;
}

/**
 * Sets `X-Forwarded-For/Proto/Host` on the stripped headers (in place). When the peer is not a trusted
 * proxy, the client's own forwarding claims are dropped and the gateway's view replaces them; when it
 * is, the chain is kept and the peer appended.
 */
export function setForwardedHeaders(headers: IncomingHttpHeaders, original: IncomingHttpHeaders, view: ForwardedView): void {
  const { trusted } = view;
  for (const name of FORWARDING_HEADERS) if (headers[name] !== undefined) delete headers[name];
  const ownProto = view.encrypted ? 'https' : 'http';
  const host = original.host ?? '';
  if (!trusted) {
    headers['x-forwarded-for'] = view.peerAddress;
    headers['x-forwarded-proto'] = ownProto;
    headers['x-forwarded-host'] = host;
    return;
  }
  for (const name of FORWARDING_HEADERS) if (original[name] !== undefined) headers[name] = original[name];
  const chain = joined(original['x-forwarded-for']);
  headers['x-forwarded-for'] = chain ? `${chain}, ${view.peerAddress}` : view.peerAddress;
  headers['x-forwarded-proto'] = joined(original['x-forwarded-proto']) || ownProto;
  headers['x-forwarded-host'] = joined(original['x-forwarded-host']) || host;
}

function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}
