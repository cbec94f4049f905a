// What the Cluster and Sentinel failover tests hold a store to while its primary is killed under load.
import { expect } from 'vitest';
import type { FaultOutcome } from '../../support/meter-load.js';

/** Every call settles within this, fault or not (20x the 80 ms command timeout, and slack for a loaded machine). */
export const CALL_BOUND_MS = 3_000;

/**
 * The load: 16 calls in flight against a meter of 200 per visitor (still granting when the primary
 * dies 400 ms in, so the failover meets writes in flight); the failover
 * (node timeout or down-after 1 s, the vote, the promotion, the client's next attempt) must be
 * answered within 25 s, generous for a loaded machine.
 */
export const FAILOVER_LOAD = { limit: 200, concurrency: 16, pauseMs: 2, warmupMs: 400, recoverWithinMs: 25_000, now: Date.UTC(2026, 10, 18, 12) };

export function expectFailoverWithinPolicy(outcome: FaultOutcome): void {
  const text = JSON.stringify(outcome);
  // No grant beyond the limit that lost increments do not explain; counts consistent; nothing but store failures.
  expect(outcome.audit, text).toMatchObject({ beyondPolicy: 0, inconsistent: 0, overLimit: 0 });
  expect(outcome.audit.failed.other ?? 0, text).toBe(0);
  expect(outcome.audit.maxMs, text).toBeLessThan(CALL_BOUND_MS);
  // The fault met grants in flight and was met by calls answered by policy; the limit held after the recovery.
  expect(outcome.grantedJustBefore, text).toBeGreaterThan(0);
  expect(outcome.duringFault.byPolicy, text).toBeGreaterThan(0);
  expect(outcome.refusedAfter, text).toBe(true);
}
