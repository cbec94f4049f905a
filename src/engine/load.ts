// Load shedding (docs/operations.md, "Load shedding"): a process keeps at most
// `server.maxPendingDecisions` decisions in progress; one more is refused with `overloaded` (503 with
// Retry-After at the gateway and the API) before it reads or records any meter: never granted, never
// left to the failure policy. Below the limit every decision waits its turn, and a store that makes
// progress is never failed for the queue in front of it (meters/redis-progress.ts).
import type { EventLogger } from '../events.js';
import { EngineError } from './errors.js';

/** What a shed request is told: try again after this many seconds. */
export const RETRY_AFTER_SECONDS = 1;

/** Decisions in progress in this process; one object per process, kept across config reloads. */
export class DecisionLoad {
  /** Decisions (and access checks, counter updates) in progress now. */
  pending = 0;
  /** Refused since start. */
  shed = 0;
  private loggedAt = 0;
  private shedSinceLog = 0;

  /** Counts one decision in, or throws `overloaded` when `limit` are already in progress. */
  enter(limit: number, logger: EventLogger | undefined): void {
    if (this.pending < limit) {
      this.pending++;
      return;
    }
    this.shed++;
    this.shedSinceLog++;
    const now = Date.now();
    // One event a second at most: under overload a line per refused request would add to it.
    if (now - this.loggedAt >= 1_000) {
      logger?.event('warn', 'decision-shed', { shed: this.shedSinceLog, pending: this.pending, limit });
      this.loggedAt = now;
      this.shedSinceLog = 0;
    }
    throw new EngineError('overloaded', `plangate is at capacity (${limit} decisions in progress); retry in ${RETRY_AFTER_SECONDS} s`);
  }

  leave(): void {
    this.pending--;
  }
}
