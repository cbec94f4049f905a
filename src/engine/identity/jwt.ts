// JWT verification for the engine: picks the integration (by `iss`, else each in order), checks the
// token's shape and size before any crypto, verifies it locally with jose against that integration's
// own keys and allow-listed algorithms, and caches the result until the token expires or its key
// rotates away; a rejection that new keys could not change is cached briefly too (token-cache.ts).
// Every rejection carries a stable reason code (see docs/jwt.md). The identifier is the claim-key
// value, behind the integration's `identifierNamespace` when it has one.
import type { EventLogger } from '../../events.js';
import { jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { ResolvedJwtIntegration } from '../model.js';
import { createKeySource, type KeySource } from './jwt-keys.js';
import { MAX_TOKEN_CHARS, precheckToken, type TokenHeader } from './jwt-precheck.js';
import { reasonFromJoseError } from './jwt-reasons.js';
import type { JwtRejectReason, JwtVerification, JwtVerifier, JwtVerifierStats } from './jwt-verifier.js';
import { TokenCache } from './token-cache.js';

export interface JwtVerifierOptions {
  /** Clock in epoch ms (tests move it); default `Date.now`. */
  now?: () => number;
  /** Verified tokens kept (LRU); 0 turns the cache off. Default 10,000. */
  cacheSize?: number;
  /** How long a token without `exp` stays cached. Default 5 minutes. */
  cacheMaxTtlMs?: number;
  /** How long a settled rejection (bad signature, expired, wrong issuer, ...) is served from the cache. Default 30 s. */
  rejectionTtlMs?: number;
  /** Used for JWK Set URLs; default the global `fetch`. */
  fetch?: typeof fetch;
  logger?: EventLogger;
}

export const DEFAULT_CACHE_SIZE = 10_000;
export const DEFAULT_CACHE_MAX_TTL_MS = 5 * 60_000;
export const DEFAULT_REJECTION_TTL_MS = 30_000;

/**
 * Rejections that stay true while the keys stay the same: the signature, the claims, the token's age.
 * Never cached: `unknown-key` and `keys-unavailable` (the next JWK Set fetch may bring the key; a
 * failed fetch is transient), `not-yet-valid` (time heals it), and what the precheck finds before any
 * crypto (as cheap as a lookup).
 */
const SETTLED = new Set<JwtRejectReason>(['bad-signature', 'expired', 'too-old', 'issuer', 'audience', 'missing-claim', 'malformed']);
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

interface CompiledIntegration {
  index: number;
  config: ResolvedJwtIntegration;
  allowed: ReadonlySet<string>;
  keys: KeySource;
  claimKey: string;
  /** `<identifierNamespace>:`, or '' without one. */
  identifierPrefix: string;
  tolerance: number;
  joseOptions: Omit<JWTVerifyOptions, 'currentDate'>;
}

type Attempt = { ok: true; result: Extract<JwtVerification, { ok: true }> } | { ok: false; reason: JwtRejectReason };

export function createJwtVerifier(
  integrations: readonly ResolvedJwtIntegration[],
  options: JwtVerifierOptions = {},
): JwtVerifier & { stats(): JwtVerifierStats } {
  const now = options.now ?? Date.now;
  const logger = options.logger;
  const maxTtlMs = options.cacheMaxTtlMs ?? DEFAULT_CACHE_MAX_TTL_MS;
  const rejectionTtlMs = options.rejectionTtlMs ?? DEFAULT_REJECTION_TTL_MS;
  const cache = new TokenCache(options.cacheSize ?? DEFAULT_CACHE_SIZE);
  const onEvent = logger === undefined ? undefined : logger.event.bind(logger);
  const compiled = integrations.map((config, index) => compile(config, index, { now, fetch: options.fetch ?? globalThis.fetch, onEvent }));
  const byIssuer = groupByIssuer(compiled);
  const counters = { signatureChecks: 0, cacheHits: 0, rejectionCacheHits: 0, accepted: 0, rejected: {} as Partial<Record<JwtRejectReason, number>> };
  /** Sums every integration's key generation: it grows whenever any key set changes. */
  const keyGenerations = () => {
    let sum = 0;
    for (const integration of compiled) sum += integration.keys.generation();
    return sum;
  };

  function reject(reason: JwtRejectReason, integration?: string): JwtVerification {
    counters.rejected[reason] = (counters.rejected[reason] ?? 0) + 1;
    // Never the token, nor anything it chose (a kid can be 10 KB of anything).
    logger?.event('info', 'jwt-rejected', integration === undefined ? { reason } : { reason, integration });
    return integration === undefined ? { ok: false, reason } : { ok: false, reason, integration };
  }

  async function attempt(integration: CompiledIntegration, token: string, cacheKey: string, header: TokenHeader, payloadJson: string): Promise<Attempt> {
    if (!integration.allowed.has(header.alg)) return { ok: false, reason: 'algorithm-not-allowed' };
    const lookup = await integration.keys.lookup(header);
    if (!lookup.ok) return lookup;
    const verifyOptions: JWTVerifyOptions = { ...integration.joseOptions, currentDate: new Date(now()) };
    let reason: JwtRejectReason = 'unknown-key';
    for (const key of lookup.keys) {
      counters.signatureChecks += 1;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, verifyOptions));
      } catch (error) {
        reason = reasonFromJoseError(error);
        // Without a kid several keys may fit: only a signature mismatch moves on to the next one.
        if (reason === 'bad-signature') continue;
        return { ok: false, reason };
      }
      // jose's payload is JSON.parse output: handed on as is, so `__proto__` stays a plain own claim.
      const claim = Object.hasOwn(payload, integration.claimKey) ? payload[integration.claimKey] : undefined;
      if (typeof claim !== 'string' || claim.length === 0) return { ok: false, reason: 'missing-claim' };
      const identifier = integration.identifierPrefix + claim;
      cache.set(cacheKey, {
        payloadJson,
        identifier,
        integration: integration.index,
        generation: lookup.generation,
        expiresAtMs: cacheExpiry(payload, integration, now(), maxTtlMs),
      });
      return { ok: true, result: { ok: true, claims: payload, identifier, integration: integration.config.name } };
    }
    return { ok: false, reason };
  }

  return {
    async verify(token) {
      if (compiled.length === 0) return reject('no-integration');
      if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return reject(typeof token === 'string' ? 'too-large' : 'malformed');
      const key = cache.keyOf(token);
      const hit = cache.get(key, now(), (index) => compiled[index]!.keys.generation());
      if (hit) {
        counters.cacheHits += 1;
        counters.accepted += 1;
        const claims = JSON.parse(hit.payloadJson) as Record<string, unknown>;
        return { ok: true, claims, identifier: hit.identifier, integration: compiled[hit.integration]!.config.name };
      }
      // Taken before judging: keys that change meanwhile make the cached rejection stale at once.
      const generations = keyGenerations();
      const known = cache.rejection(key, now(), generations);
      if (known) {
        counters.rejectionCacheHits += 1;
        return reject(known.reason, known.integration);
      }
      const pre = precheckToken(token);
      if (!pre.ok) return reject(pre.reason);
      const candidates = (pre.issuer !== undefined && byIssuer.get(pre.issuer)) || compiled;
      let first: { reason: JwtRejectReason; integration: string } | undefined;
      let settled = true;
      for (const integration of candidates) {
        const outcome = await attempt(integration, token, key, pre.header, pre.payloadJson);
        if (outcome.ok) {
          counters.accepted += 1;
          return outcome.result;
        }
        first ??= { reason: outcome.reason, integration: integration.config.name };
        // One integration that might accept the token later (keys still to come) keeps the rejection out of the cache.
        if (!SETTLED.has(outcome.reason)) settled = false;
      }
      if (settled)
        cache.reject(key, { reason: first!.reason, integration: first!.integration, keyGenerations: generations, expiresAtMs: now() + rejectionTtlMs });
      return reject(first!.reason, first!.integration);
    },
    async warm() {
      await Promise.all(compiled.map((integration) => integration.keys.warm()));
    },
    readiness() {
      return compiled.map(({ config, keys }) => ({ integration: config.name, ...keys.readiness() }));
    },
    stats() {
      return {
        signatureChecks: counters.signatureChecks,
        cacheHits: counters.cacheHits,
        cacheEntries: cache.size,
        rejectionCacheHits: counters.rejectionCacheHits,
        rejectionCacheEntries: cache.rejectedSize,
        accepted: counters.accepted,
        rejected: { ...counters.rejected },
        jwksFetchAttempts: compiled.reduce((sum, { keys }) => sum + keys.fetchAttempts(), 0),
      };
    },
    close() {
      for (const { keys } of compiled) keys.close();
      cache.clear();
    },
  };
}

function compile(config: ResolvedJwtIntegration, index: number, deps: Parameters<typeof createKeySource>[1]): CompiledIntegration {
  const tolerance = config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const joseOptions: Omit<JWTVerifyOptions, 'currentDate'> = {
    algorithms: [...config.algorithms],
    clockTolerance: tolerance,
    ...(config.issuer !== undefined && { issuer: config.issuer }),
    ...(config.audience !== undefined && { audience: typeof config.audience === 'string' ? config.audience : [...config.audience] }),
    ...(config.requiredClaims !== undefined && { requiredClaims: [...config.requiredClaims] }),
    ...(config.maxTokenAgeSeconds !== undefined && { maxTokenAge: config.maxTokenAgeSeconds }),
  };
  return {
    index,
    config,
    allowed: new Set(config.algorithms),
    keys: createKeySource(config, deps),
    claimKey: config.claimKey ?? 'sub',
    identifierPrefix: config.identifierNamespace === undefined ? '' : `${config.identifierNamespace}:`,
    tolerance,
    joseOptions,
  };
}

/** Integrations by configured issuer, in configuration order, for picking by the token's `iss`. */
function groupByIssuer(compiled: readonly CompiledIntegration[]): Map<string, CompiledIntegration[]> {
  const groups = new Map<string, CompiledIntegration[]>();
  for (const integration of compiled) {
    const issuer = integration.config.issuer;
    if (issuer !== undefined) groups.set(issuer, [...(groups.get(issuer) ?? []), integration]);
  }
  return groups;
}

/** The moment a fresh verification would start rejecting the token (jose allows `exp` + tolerance). */
function cacheExpiry(payload: JWTPayload, integration: CompiledIntegration, nowMs: number, maxTtlMs: number): number {
  let until = nowMs + maxTtlMs;
  if (typeof payload.exp === 'number') until = Math.min(until, (payload.exp + integration.tolerance) * 1000);
  const maxAge = integration.config.maxTokenAgeSeconds;
  if (maxAge !== undefined && typeof payload.iat === 'number') {
    until = Math.min(until, (payload.iat + maxAge + integration.tolerance) * 1000);
  }
  return until;
}
