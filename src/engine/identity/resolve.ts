// Identity resolution (PRODUCT.md §2, docs/api.md): exactly one mode per request, JWTs verified
// locally. With `api.anonymousIds: signed` the anonymous identifiers callers hold are signed values
// (`<uuid>.<mac>`): minted ones are handed out signed, and an untrusted (pk_) caller's must verify.
// Counters are keyed by the UUID inside, so a key rotation, which re-signs it, keeps them.
import { createHash, randomUUID } from 'node:crypto';
import { EngineError } from '../errors.js';
import type { IdentityInput, EngineLogger } from '../engine.js';
import type { ResolvedIdentity } from '../types.js';
import type { Visitor } from '../meters/store.js';
import type { AnonymousIds } from './anonymous-ids.js';
import type { JwtVerifier } from './jwt-verifier.js';

const MAX_IDENTIFIER = 256;
const MODES = ['anonymousIdentifier', 'userJwt', 'userIdentifier', 'createAnonymousIdentifier'] as const;

export interface IdentityDeps {
  verifier: JwtVerifier;
  /** Set when the API's anonymous ids are signed (`api.anonymousIds: signed`). */
  signedAnonymousIds?: AnonymousIds;
  logger?: EngineLogger;
}

/** Who the caller is, and whose counters that is (for a signed anonymous id, the UUID inside it). */
export interface IdentityResolution {
  identity: ResolvedIdentity;
  visitor: Visitor;
}

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

/** An anonymous id as the caller holds it: signed under the current key when ids are signed. */
function anonymous(id: string, signed: AnonymousIds | undefined): IdentityResolution {
  return { identity: anonymousIdentity(signed ? signed.sign(id) : id), visitor: { userType: 'anonymous', identifier: id } };
}

function unverifiedAnonymous(input: IdentityInput, value: string, trusted: boolean, deps: IdentityDeps): IdentityResolution {
  const signed = deps.signedAnonymousIds;
  if (signed === undefined) return anonymous(value, undefined);
  const verified = signed.verify(value);
  // Signed with the current key: the value is what signing would give again, so it is answered as is.
  if (verified !== undefined && !verified.stale) return { identity: anonymousIdentity(value), visitor: { userType: 'anonymous', identifier: verified.id } };
  if (verified !== undefined) return anonymous(verified.id, signed);
  // Secret-key callers are trusted with any identifier (they may send userIdentifier too): theirs is kept as sent.
  if (trusted) return { identity: anonymousIdentity(value), visitor: { userType: 'anonymous', identifier: value } };
  if (input.createAnonymousIdentifierFallback === true) {
    deps.logger?.event('info', 'anonymous-id-fallback', { reason: 'not-signed' });
    return anonymous(randomUUID(), signed);
  }
  throw new EngineError(
    'invalid-anonymous-id',
    'identity.anonymousIdentifier is not an id this server signed (api.anonymousIds: signed): send the identifier a decision returned, or createAnonymousIdentifier: true for a new one (with createAnonymousIdentifierFallback: true a new one replaces an unsigned id instead of this error)',
  );
}

export async function resolveIdentity(input: IdentityInput, trusted: boolean, deps: IdentityDeps): Promise<IdentityResolution> {
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
    return anonymous(randomUUID(), deps.signedAnonymousIds);
  }
  if (input.anonymousIdentifier !== undefined)
    return unverifiedAnonymous(input, checkIdentifier(input.anonymousIdentifier, 'anonymousIdentifier'), trusted, deps);
  if (input.userIdentifier !== undefined) {
    const identifier = checkIdentifier(input.userIdentifier, 'userIdentifier');
    if (!trusted)
      throw new EngineError(
        'identity-forbidden',
        'identity.userIdentifier needs a secret (sk_) API key; publishable keys may send userJwt or an anonymous identity',
      );
    return resolved({ authType: 'provided', identifier, isAuthenticated: true, jwtClaims: {} });
  }
  if (typeof input.userJwt !== 'string' || input.userJwt.length === 0) {
    throw new EngineError('invalid-request', 'identity.userJwt must be a non-empty string');
  }
  const result = await deps.verifier.verify(input.userJwt);
  if (result.ok) return resolved({ authType: 'jwt', identifier: result.identifier, isAuthenticated: true, jwtClaims: result.claims });
  // The verifier has logged the rejection (`jwt-rejected`, with its reason); only the fallback is news.
  if (input.createAnonymousIdentifierFallback === true) {
    deps.logger?.event('info', 'jwt-fallback-anonymous', { reason: result.reason });
    return anonymous(randomUUID(), deps.signedAnonymousIds);
  }
  throw new EngineError('invalid-token', 'invalid token');
}

/** An identity whose counters are keyed by its own identifier. */
export function resolved(identity: ResolvedIdentity): IdentityResolution {
  return { identity, visitor: visitorOf(identity) };
}

/** Counters are keyed by user type and identifier: provided and jwt identities share them. */
export function visitorOf(identity: ResolvedIdentity): Visitor {
  return { userType: identity.isAuthenticated ? 'authenticated' : 'anonymous', identifier: identity.identifier };
}

/**
 * A stable 0–99 bucket: the first 4 bytes of SHA-256(identifier), unsigned big-endian, mod 100. Taken
 * over the visitor's identifier, so a signed anonymous id keeps its bucket when its key rotates.
 */
export function testGroup100(identifier: string): number {
  return createHash('sha256').update(identifier).digest().readUInt32BE(0) % 100;
}
