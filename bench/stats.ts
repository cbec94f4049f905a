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
  /** Median CPU the candidate's own process spent per request (µs, user + system); null when it has none to read (nginx runs as a child too, so only a missing /proc gives null). */
  cpuUsPerRequest: number | null;
  /** Median CPU the shared upstream spent per request while this candidate was measured (µs): the same for every proxy that forwards the same bytes. */
  upstreamCpuUsPerRequest: number | null;
}

/** One wrk round, with the CPU the candidate and the upstream used during it. */
export interface RoundResult extends WrkResult {
  cpuUsPerRequest: number | null;
  upstreamCpuUsPerRequest: number | null;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === values.length && known.length > 0 ? round(median(known), 1) : null;
}

export function summarize(rounds: readonly RoundResult[]): CandidateSummary {
  return {
    rps: Math.round(median(rounds.map((r) => r.rps))),
    p50Ms: round(median(rounds.map((r) => r.p50Ms)), 3),
    p99Ms: round(median(rounds.map((r) => r.p99Ms)), 3),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    rpsRounds: rounds.map((r) => Math.round(r.rps)),
    cpuUsPerRequest: medianOrNull(rounds.map((r) => r.cpuUsPerRequest)),
    upstreamCpuUsPerRequest: medianOrNull(rounds.map((r) => r.upstreamCpuUsPerRequest)),
  };
}
