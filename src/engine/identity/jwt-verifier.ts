// The contract between the engine and JWT verification (implemented in ./jwt.ts).

/** Stable reason codes for a rejected token: used in logs and metrics, never sent to clients. */
export type JwtRejectReason =
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'algorithm-not-allowed'
  | 'unknown-key'
  | 'issuer'
  | 'audience'
  | 'malformed'
  | 'too-large'
  | 'missing-claim'
  | 'too-old'
  /** A JWK Set integration that has never fetched its set (and may not refetch yet). */
  | 'keys-unavailable'
  | 'no-integration';

export type JwtVerification =
  { ok: true; claims: Record<string, unknown>; identifier: string; integration: string } | { ok: false; reason: JwtRejectReason; integration?: string };

export interface JwtVerifier {
  verify(token: string): Promise<JwtVerification>;
  /** Fetch remote key sets ahead of the first request; resolves when every set is loaded or has failed. */
  warm(): Promise<void>;
  /** Per-integration readiness (JWK Sets loaded at least once). */
  readiness(): { integration: string; ready: boolean; detail?: string }[];
  close(): void;
  /** Counters for metrics and tests (optional so that test fakes need not implement it). */
  stats?(): JwtVerifierStats;
}

export interface JwtVerifierStats {
  /** jose signature verifications run (a cache hit runs none). */
  signatureChecks: number;
  cacheHits: number;
  cacheEntries: number;
  /** Rejections answered from the cache (no signature check). */
  rejectionCacheHits: number;
  rejectionCacheEntries: number;
  accepted: number;
  rejected: Partial<Record<JwtRejectReason, number>>;
  /** JWK Set fetch attempts, successful or not, across integrations. */
  jwksFetchAttempts: number;
}
