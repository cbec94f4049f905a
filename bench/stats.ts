// Turning rounds into one number per candidate: medians for speed and latency, sums for failures.
import type { WrkResult } from './wrk.js';

export interface CandidateSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** Requests/s of each measured round, in order (drift shows here). */
  rpsRounds: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

export function summarize(rounds: readonly WrkResult[]): CandidateSummary {
  return {
    rps: Math.round(median(rounds.map((r) => r.rps))),
    p50Ms: round(median(rounds.map((r) => r.p50Ms)), 3),
    p99Ms: round(median(rounds.map((r) => r.p99Ms)), 3),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    rpsRounds: rounds.map((r) => Math.round(r.rps)),
  };
}
