// A JWK Set fetched from the integration's URL and kept in memory. Unlike jose's remote set used as it
// comes, a failed or hung refetch never takes the last good set away: verification keeps using it, and
// fetch attempts (for staleness or an unknown `kid`) start at most once per cooldown.
import type { EventLogger } from '../../events.js';
import { createLocalJWKSet, errors, type CryptoKey, type LocalJWKSet } from 'jose';
import type { TokenHeader } from './jwt-precheck.js';
import type { JwtRejectReason } from './jwt-verifier.js';

export interface RemoteJwkSetOptions {
  url: string;
  /** Minimum time between two fetch attempts, whatever triggered them. */
  cooldownMs: number;
  /** A set older than this is refetched in the background, without blocking verification. */
  maxAgeMs: number;
  /** Bound on one fetch, connection to last body byte. */
  timeoutMs: number;
  now: () => number;
  fetch: typeof fetch;
  onEvent?: EventLogger['event'];
}

export type KeyLookup = { ok: true; keys: (CryptoKey | Uint8Array)[]; generation: number } | { ok: false; reason: JwtRejectReason };

/** A JWK Set document larger than this is refused: real sets are a few KB. */
const MAX_SET_BYTES = 1024 * 1024;
/** With no `kid`, several keys can match; each is tried, up to this many. */
const MAX_CANDIDATES = 8;

export class RemoteJwkSet {
  #set: LocalJWKSet | undefined;
  #setText = '';
  #fetchedAt = 0;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #lastError: string | undefined;
  #generation = 0;
  #attempts = 0;
  readonly #closer = new AbortController();

  constructor(private readonly options: RemoteJwkSetOptions) {}

  /** Bumped when a fetch brings a set with different content; cached verifications of older generations are dropped. */
  get generation(): number {
    return this.#generation;
  }

  /** Fetch attempts started so far (successful or not). */
  get attempts(): number {
    return this.#attempts;
  }

  async lookup(header: TokenHeader): Promise<KeyLookup> {
    this.#refreshIfStale();
    if (!this.#set) await this.#refreshWithinCooldown();
    if (!this.#set) return { ok: false, reason: 'keys-unavailable' };
    let found = await this.#match(this.#set, header);
    // An unknown kid may be a key published since the last fetch: refetch, but only once per cooldown.
    if (found.length === 0 && (await this.#refreshWithinCooldown())) found = await this.#match(this.#set, header);
    return found.length > 0 ? { ok: true, keys: found, generation: this.#generation } : { ok: false, reason: 'unknown-key' };
  }

  /** Resolves once the first fetch has succeeded or failed. */
  async warm(): Promise<void> {
    if (this.#set || this.#closer.signal.aborted) return;
    await (this.#inflight ?? this.#startRefresh());
  }

  readiness(): { ready: boolean; detail?: string } {
    const ready = this.#set !== undefined;
    if (this.#lastError === undefined) return ready ? { ready } : { ready, detail: `JWK Set ${this.options.url} not fetched yet` };
    const serving = ready ? `; serving the set fetched at ${new Date(this.#fetchedAt).toISOString()}` : '';
    return { ready, detail: `last fetch of ${this.options.url} failed: ${this.#lastError}${serving}` };
  }

  close(): void {
    this.#closer.abort();
  }

  async #match(set: LocalJWKSet, header: TokenHeader): Promise<CryptoKey[]> {
    try {
      return [await set({ alg: header.alg, kid: header.kid })];
    } catch (error) {
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        const keys: CryptoKey[] = [];
        for await (const key of error) {
          keys.push(key);
          if (keys.length >= MAX_CANDIDATES) break;
        }
        return keys;
      }
      // No matching key, an algorithm a JWK Set cannot serve, or a matching JWK that does not import.
      return [];
    }
  }

  /** True when a fetch ran (joined or started) for this caller; false when the cooldown forbids one. */
  async #refreshWithinCooldown(): Promise<boolean> {
    if (this.#inflight) {
      await this.#inflight;
      return true;
    }
    if (this.options.now() - this.#lastAttemptAt < this.options.cooldownMs || this.#closer.signal.aborted) return false;
    await this.#startRefresh();
    return true;
  }

  #refreshIfStale(): void {
    if (!this.#set || this.#inflight || this.#closer.signal.aborted) return;
    const now = this.options.now();
    if (now - this.#fetchedAt >= this.options.maxAgeMs && now - this.#lastAttemptAt >= this.options.cooldownMs) {
      void this.#startRefresh();
    }
  }

  #startRefresh(): Promise<void> {
    this.#lastAttemptAt = this.options.now();
    this.#attempts += 1;
    const run = this.#fetchSet()
      .then(({ text, set }) => {
        this.#fetchedAt = this.options.now();
        this.#lastError = undefined;
        if (text === this.#setText && this.#set) return;
        this.#set = set;
        this.#setText = text;
        this.#generation += 1;
        this.options.onEvent?.('info', 'jwks-updated', { url: this.options.url, generation: this.#generation });
      })
      .catch((error: unknown) => {
        if (this.#closer.signal.aborted) return; // shutting down: not a failure worth reporting
        this.#lastError = error instanceof Error ? error.message : String(error);
        this.options.onEvent?.('warn', 'jwks-fetch-failed', { url: this.options.url, error: this.#lastError, keptLastGoodSet: this.#set !== undefined });
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    this.#inflight = run;
    return run;
  }

  async #fetchSet(): Promise<{ text: string; set: LocalJWKSet }> {
    const signal = AbortSignal.any([this.#closer.signal, AbortSignal.timeout(this.options.timeoutMs)]);
    let text: string;
    try {
      const response = await this.options.fetch(this.options.url, { signal, headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      if (Number(response.headers.get('content-length') ?? 0) > MAX_SET_BYTES) throw new Error(`larger than ${MAX_SET_BYTES} bytes`);
      text = await response.text();
    } catch (error) {
      if (signal.aborted && !this.#closer.signal.aborted) throw new Error(`no complete answer within ${this.options.timeoutMs} ms`);
      throw error instanceof Error && error.cause instanceof Error ? new Error(`${error.message}: ${error.cause.message}`) : error;
    }
    if (text.length > MAX_SET_BYTES) throw new Error(`larger than ${MAX_SET_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error('the body is not JSON');
    }
    try {
      return { text, set: createLocalJWKSet(json as Parameters<typeof createLocalJWKSet>[0]) };
    } catch {
      throw new Error('the body is not a JWK Set (an object with a "keys" array of JWK objects)');
    }
  }
}
