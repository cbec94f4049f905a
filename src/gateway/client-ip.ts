// The visitor's address as the gateway trusts it (`trustProxy`), and the form used for metering
// visitors without a cookie (`anonymousMetering: cookie+ip`; the id is a keyed hash of it, see
// engine/identity/anonymous-ids.ts).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyAddr from 'proxy-addr';

/** `false`: trust no proxy; `true`: trust every hop; n: trust the n hops closest to the gateway. */
export type TrustProxy = boolean | number;
export type TrustFn = (address: string, hop: number) => boolean;

const TRUST_NONE: TrustFn = () => false;
const TRUST_ALL: TrustFn = () => true;

export function compileTrust(trustProxy: TrustProxy): TrustFn {
  if (trustProxy === true) return TRUST_ALL;
  if (trustProxy === false || trustProxy <= 0) return TRUST_NONE;
  return (_address, hop) => hop < trustProxy;
}

/** What the address rules read of a request: its headers and its socket (node's `IncomingMessage` has this shape). */
export interface RequestSource {
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string; encrypted?: boolean };
}

/** The client address: the socket peer, or the first untrusted hop of `X-Forwarded-For`. Read it before the gateway rewrites that header. */
export function clientAddress(req: RequestSource, trust: TrustFn): string {
  // No proxy trusted (the default): the peer, without parsing X-Forwarded-For at all.
  if (trust === TRUST_NONE) return req.socket.remoteAddress ?? '';
  // proxy-addr reads only `headers` and `socket.remoteAddress`.
  return proxyAddr(req as IncomingMessage, trust);
}

/** Whether the visitor reached the first trusted hop over HTTPS. */
export function cameOverHttps(req: RequestSource, trust: TrustFn): boolean {
  const socket = req.socket;
  if (socket.encrypted === true) return true;
  if (!trust(socket.remoteAddress ?? '', 0)) return false;
  const forwarded = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

/**
 * The network a cookie-less visitor is metered by: the full IPv4 address, or the /56 prefix of an
 * IPv6 address (one household or small site usually gets a /56 or /48; a /64 per device is common,
 * so metering by full v6 address would let one visitor rotate freely).
 */
export function meteringNetwork(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const bytes = parsed.toByteArray().slice(0, 7);
  return `${Buffer.from(bytes).toString('hex')}::/56`;
}
