// Verification results by token, so a visitor's every request does not pay for a signature check.
// Keyed by a SHA-256 of the token (the token itself is never held as a key), bounded (LRU), in two
// separate caches, so a flood of bad tokens can never push good ones out:
// - accepted tokens, served while the token would still verify: before its expiry and under the
//   same key generation of the integration that verified it;
// - rejected tokens, briefly (a repeated bad token costs a lookup, not an RSA verification), and
//   only under the key generations they were judged with: new keys judge afresh.
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { JwtRejectReason } from './jwt-verifier.js';

export interface CachedVerification {
  /** The decoded payload text: parsed afresh per hit, so callers never share (or mutate) one object. */
  payloadJson: string;
  identifier: string;
  /** Index of the integration that verified the token. */
  integration: number;
  /** That integration's key generation at verification; a rotation bumps it. */
  generation: number;
  /** Epoch ms after which a fresh verification would reject the token. */
  expiresAtMs: number;
}

export interface CachedRejection {
  reason: JwtRejectReason;
  /** The integration named in the rejection. */
  integration?: string;
  /** Every integration's key generations, summed, when the token was judged (they only grow). */
  keyGenerations: number;
  /** Epoch ms until which the rejection is served. */
  expiresAtMs: number;
}

export class TokenCache {
  readonly #accepted: LRUCache<string, CachedVerification> | undefined;
  readonly #rejected: LRUCache<string, CachedRejection> | undefined;

  constructor(maxEntries: number) {
    this.#accepted = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
    this.#rejected = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  /** The cache key of a token (hashed once per verification, used for both caches). */
  keyOf(token: string): string {
    return hash('sha256', token, 'base64url'); // the one-shot form: no Hash object per request
  }

  get(key: string, nowMs: number, currentGeneration: (integration: number) => number): CachedVerification | undefined {
    const entry = this.#accepted?.get(key);
    if (!entry) return undefined;
    if (nowMs >= entry.expiresAtMs || currentGeneration(entry.integration) !== entry.generation) {
      this.#accepted!.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: CachedVerification): void {
    this.#accepted?.set(key, entry);
  }

  rejection(key: string, nowMs: number, keyGenerations: number): CachedRejection | undefined {
    const entry = this.#rejected?.get(key);
    if (!entry) return undefined;
    if (nowMs >= entry.expiresAtMs || keyGenerations !== entry.keyGenerations) {
      this.#rejected!.delete(key);
      return undefined;
    }
    return entry;
  }

  reject(key: string, entry: CachedRejection): void {
    this.#rejected?.set(key, entry);
  }

  /** Accepted tokens held. */
  get size(): number {
    return this.#accepted?.size ?? 0;
  }

  /** Rejected tokens held. */
  get rejectedSize(): number {
    return this.#rejected?.size ?? 0;
  }

  clear(): void {
    this.#accepted?.clear();
    this.#rejected?.clear();
  }
}
