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
    /** With `server.workers` above 1 (the primary's answer): how many are configured, answering, ready. */
    workers?: { configured: number; answering: number; ready: number };
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

/**
 * The primary's readiness with worker processes: ready when every configured worker answered ready
 * and no shutdown began. A worker that died or did not answer in time makes the host not ready (its
 * replacement is on the way); the checks shown are the first answering worker's, each reason is
 * prefixed with the worker's number.
 */
export function combineReadiness(configured: number, answers: { worker: number; readiness: Readiness | null }[], shuttingDown: boolean): Readiness {
  const answered = answers.filter((a): a is { worker: number; readiness: Readiness } => a.readiness !== null);
  const ready = answered.filter((a) => a.readiness.ready).length;
  const reasons: string[] = [];
  for (const a of answers) {
    if (a.readiness === null) reasons.push(`worker ${a.worker}: no answer`);
    else for (const reason of a.readiness.reasons) reasons.push(`worker ${a.worker}: ${reason}`);
  }
  if (answers.length < configured) reasons.push(`${configured - answers.length} of ${configured} workers not running (being restarted)`);
  if (shuttingDown) reasons.push('shutting down');
  const base = answered[0]?.readiness.checks ?? { config: 'ok' as const, jwks: 'ok' as const, store: 'unreachable' as const, failurePolicy: 'closed' as const };
  const result: Readiness = {
    ready: !shuttingDown && ready === configured,
    checks: { ...base, workers: { configured, answering: answered.length, ready } },
    reasons,
  };
  if (shuttingDown) result.checks.shuttingDown = true;
  if (answered.some((a) => a.readiness.degraded)) result.degraded = true;
  return result;
}
