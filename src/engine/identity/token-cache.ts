// Verified tokens, so a visitor's every request does not pay for a signature check. Bounded (LRU),
// keyed by a SHA-256 of the token (the token itself is never held as a key), and an entry is only
// served while the token would still verify: before its expiry and under the same key generation.
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

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

export class TokenCache {
  readonly #entries: LRUCache<string, CachedVerification> | undefined;

  constructor(maxEntries: number) {
    this.#entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  get(token: string, nowMs: number, currentGeneration: (integration: number) => number): CachedVerification | undefined {
    if (!this.#entries) return undefined;
    const key = hashToken(token);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (nowMs >= entry.expiresAtMs || currentGeneration(entry.integration) !== entry.generation) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(token: string, entry: CachedVerification): void {
    this.#entries?.set(hashToken(token), entry);
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  clear(): void {
    this.#entries?.clear();
  }
}

function hashToken(token: string): string {
  return hash('sha256', token, 'base64url'); // the one-shot form: no Hash object per request
}
