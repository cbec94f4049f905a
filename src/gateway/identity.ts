// Who the visitor is, at the gateway (docs/gateway.md "Identity at the gateway"). Precedence: the JWT cookie, then (unless the
// route sets `bearer: false`) `Authorization: Bearer`; the first token that verifies wins. A token
// that fails verification is logged (`gateway-jwt-invalid`, with where it came from and the
// verifier's reason) and, by default, the visitor continues as anonymous; with `invalidJwt: reject`
// the gateway answers 401 instead. Anonymous visitors keep a signed id in their cookie; a missing one,
// or one this deployment did not sign (forged, altered, signed with a key rotated out, or an unsigned
// cookie of an earlier version), counts as no cookie: a fresh id (`cookie`) or the keyed id of their
// network (`cookie+ip`). A cookie signed with the previous key is accepted and re-issued. A fresh id
// is minted only within the flood budget (engine/identity/new-ids.ts); beyond it the visitor is
// metered under their network's id for this request, and gets no cookie.
import type { EventLogger } from '../events.js';
import type { AnonymousIds } from '../engine/identity/anonymous-ids.js';
import type { JwtVerifier } from '../engine/identity/jwt-verifier.js';
import { anonymousIdentity, jwtIdentity } from '../engine/identity/resolve.js';
import type { ResolvedIdentity } from '../engine/types.js';
import { meteringNetwork } from './client-ip.js';
import { anonymousSetCookie } from './cookies.js';

export interface IdentitySettings {
  jwtCookie: string;
  anonymousCookie: string;
  anonymousMetering: 'cookie' | 'cookie+ip';
  invalidJwt: 'anonymous' | 'reject';
  verifier: JwtVerifier;
  anonymousIds: AnonymousIds;
  /** Whether one more new id may be minted for this network id (the store's flood budget). */
  newIdAllowed(networkId: string): Promise<boolean>;
  logger: EventLogger;
}

export interface IdentityInputs {
  cookies: Record<string, string | undefined>;
  /** The `Authorization` header, when the route accepts Bearer tokens. */
  authorization: string | undefined;
  clientIp: string;
  https: boolean;
}

export type GatewayIdentity =
  | { ok: true; identity: ResolvedIdentity; /** The anonymous cookie to set, when one was minted. */ setCookie?: string }
  | { ok: false; reason: 'invalid-token' };

const SCHEME = 'bearer';
const isBlank = (code: number) => code === 0x20 || code === 0x09;

/**
 * The token of `Bearer <token>` (scheme in any case, spaces or tabs around the token, none inside),
 * else undefined. Scanned by hand: a regex walked the whole ~1 KB token twice per request.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  // `| 0x20` lowercases an ASCII letter; only 'B' and 'b' give 'b', and so on.
  for (let i = 0; i < SCHEME.length; i++) if ((authorization.charCodeAt(i) | 0x20) !== SCHEME.charCodeAt(i)) return undefined;
  let start = SCHEME.length;
  while (isBlank(authorization.charCodeAt(start))) start++;
  let end = authorization.length;
  while (end > start && isBlank(authorization.charCodeAt(end - 1))) end--;
  if (start === SCHEME.length || end === start) return undefined;
  const token = authorization.slice(start, end);
  return token.includes(' ') || token.includes('\t') ? undefined : token;
}

/** Where tokens are looked for, in order of precedence. */
const SOURCES = ['cookie', 'bearer'] as const;

export async function resolveGatewayIdentity(settings: IdentitySettings, inputs: IdentityInputs): Promise<GatewayIdentity> {
  let rejected = false;
  for (const source of SOURCES) {
    const token = source === 'cookie' ? inputs.cookies[settings.jwtCookie] : bearerToken(inputs.authorization);
    if (token === undefined || token === '') continue;
    const result = await settings.verifier.verify(token);
    if (result.ok) {
      return { ok: true, identity: jwtIdentity(result) };
    }
    rejected = true;
    settings.logger.event('info', 'gateway-jwt-invalid', { source, reason: result.reason, integration: result.integration });
  }
  if (rejected && settings.invalidJwt === 'reject') return { ok: false, reason: 'invalid-token' };

  const ids = settings.anonymousIds;
  const cookie = ids.verify(inputs.cookies[settings.anonymousCookie]);
  if (cookie !== undefined && !cookie.stale) return { ok: true, identity: anonymousIdentity(cookie.id) };
  let id = cookie?.id;
  if (id === undefined) {
    const network = ids.forNetwork(meteringNetwork(inputs.clientIp));
    if (settings.anonymousMetering === 'cookie+ip') id = network;
    // Over the budget: the network's meter, and no cookie, so the visitor gets a fresh id once the budget allows.
    else if (!(await settings.newIdAllowed(network))) return { ok: true, identity: anonymousIdentity(network) };
    else id = ids.mint();
  }
  return { ok: true, identity: anonymousIdentity(id), setCookie: anonymousSetCookie(settings.anonymousCookie, ids.sign(id), inputs.https) };
}
