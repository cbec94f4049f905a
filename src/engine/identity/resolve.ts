// Identity resolution (PRODUCT.md §2): exactly one mode per request, JWTs verified locally.
import { createHash, randomUUID } from 'node:crypto';
import { EngineError } from '../errors.js';
import type { IdentityInput, EngineLogger } from '../engine.js';
import type { ResolvedIdentity } from '../types.js';
import type { Visitor } from '../meters/store.js';
import type { JwtVerifier } from './jwt-verifier.js';

const MAX_IDENTIFIER = 256;
const MODES = ['anonymousIdentifier', 'userJwt', 'userIdentifier', 'createAnonymousIdentifier'] as const;

function presentModes(input: IdentityInput): string[] {
  return MODES.filter((m) => input[m] !== undefined && input[m] !== false);
}

function checkIdentifier(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_IDENTIFIER) {
    throw new EngineError('invalid-request', `identity.${field} must be a non-empty string of at most ${MAX_IDENTIFIER} characters`);
  }
  return value;
}

export function anonymousIdentity(identifier: string = randomUUID()): ResolvedIdentity {
  return { authType: 'anonymous', identifier, isAuthenticated: false, jwtClaims: {} };
}

export async function resolveIdentity(input: IdentityInput, trusted: boolean, verifier: JwtVerifier, logger?: EngineLogger): Promise<ResolvedIdentity> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new EngineError(
      'invalid-request',
      'identity must be an object with exactly one of anonymousIdentifier, userJwt, userIdentifier, createAnonymousIdentifier',
    );
  }
  const modes = presentModes(input);
  if (modes.length === 0) {
    throw new EngineError('identity-missing', 'identity needs exactly one of anonymousIdentifier, userJwt, userIdentifier, createAnonymousIdentifier: true');
  }
  if (modes.length > 1) {
    throw new EngineError('identity-conflict', `identity has ${modes.join(' and ')}; send exactly one identity mode`);
  }
  if (input.createAnonymousIdentifier !== undefined) {
    if (input.createAnonymousIdentifier !== true) throw new EngineError('invalid-request', 'identity.createAnonymousIdentifier must be true when present');
    return anonymousIdentity();
  }
  if (input.anonymousIdentifier !== undefined) return anonymousIdentity(checkIdentifier(input.anonymousIdentifier, 'anonymousIdentifier'));
  if (input.userIdentifier !== undefined) {
    const identifier = checkIdentifier(input.userIdentifier, 'userIdentifier');
    if (!trusted)
      throw new EngineError(
        'identity-forbidden',
        'identity.userIdentifier needs a secret (sk_) API key; publishable keys may send userJwt or an anonymous identity',
      );
    return { authType: 'provided', identifier, isAuthenticated: true, jwtClaims: {} };
  }
  if (typeof input.userJwt !== 'string' || input.userJwt.length === 0) {
    throw new EngineError('invalid-request', 'identity.userJwt must be a non-empty string');
  }
  const result = await verifier.verify(input.userJwt);
  if (result.ok) return { authType: 'jwt', identifier: result.identifier, isAuthenticated: true, jwtClaims: result.claims };
  // The verifier has logged the rejection (`jwt-rejected`, with its reason); only the fallback is news.
  if (input.createAnonymousIdentifierFallback === true) {
    logger?.event('info', 'jwt-fallback-anonymous', { reason: result.reason });
    return anonymousIdentity();
  }
  throw new EngineError('invalid-token', 'invalid token');
}

/** Counters are keyed by user type and identifier: provided and jwt identities share them. */
export function visitorOf(identity: ResolvedIdentity): Visitor {
  return { userType: identity.isAuthenticated ? 'authenticated' : 'anonymous', identifier: identity.identifier };
}

/** A stable 0–99 bucket: the first 4 bytes of SHA-256(identifier), unsigned big-endian, mod 100. */
export function testGroup100(identifier: string): number {
  return createHash('sha256').update(identifier).digest().readUInt32BE(0) % 100;
}
