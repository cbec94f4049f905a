// Readiness (docs/operations.md "Health and readiness"): the config is loaded, every JWK Set has been fetched at least once,
// and the meter store answers — the store only counts when the policy is fail-closed (fail-open
// serves degraded decisions without it, so the instance stays in rotation and says `degraded`).
import type { Engine } from '../engine/engine.js';
import type { StoreHealth } from '../engine/meters/redis.js';

export interface Readiness {
  ready: boolean;
  /** Fail-open with the store unreachable: serving, with degraded decisions. */
  degraded?: boolean;
  checks: {
    config: 'ok';
    jwks: 'ok' | string[];
    store: 'ok' | 'unreachable';
    /** Redis's memory against its maxmemory (absent without Redis or an answer). */
    storeMemory?: 'ok' | 'high';
    failurePolicy: 'open' | 'closed';
    shuttingDown?: true;
  };
  /** Why not ready (or degraded), one line each. */
  reasons: string[];
}

export async function checkReadiness(engine: Engine, store: StoreHealth, shuttingDown = false): Promise<Readiness> {
  const reasons: string[] = [];
  const pending = engine.verifier.readiness().filter((r) => !r.ready);
  for (const r of pending) reasons.push(`JWK Set of integration '${r.integration}' not loaded yet${r.detail ? `: ${r.detail}` : ''}`);
  const [storeUp, memory] = await Promise.all([store.ping(), store.memory()]);
  const failurePolicy = engine.model.store.failurePolicy;
  let ready = pending.length === 0;
  let degraded = false;
  if (!storeUp) {
    if (failurePolicy === 'closed') {
      ready = false;
      reasons.push('meter store unreachable and store.failurePolicy is closed');
    } else {
      degraded = true;
      reasons.push('meter store unreachable; serving degraded decisions (store.failurePolicy: open)');
    }
  }
  if (memory?.high) {
    // Still serving: a warning before Redis refuses writes (noeviction) or evicts meters (docs/redis.md).
    degraded = true;
    const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
    reasons.push(
      `Redis memory at ${Math.round((100 * memory.usedBytes) / memory.maxBytes)}% of maxmemory (${mb(memory.usedBytes)} of ${mb(memory.maxBytes)}): add memory or check for a flood of new visitors`,
    );
  }
  if (shuttingDown) {
    ready = false;
    reasons.push('shutting down');
  }
  const result: Readiness = {
    ready,
    checks: { config: 'ok', jwks: pending.length === 0 ? 'ok' : pending.map((r) => r.integration), store: storeUp ? 'ok' : 'unreachable', failurePolicy },
    reasons,
  };
  if (memory !== null) result.checks.storeMemory = memory.high ? 'high' : 'ok';
  if (shuttingDown) result.checks.shuttingDown = true;
  if (degraded) result.degraded = true;
  return result;
}
