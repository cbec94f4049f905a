// The run's outcome: the printed table, the budget lines of issue 7, and the JSON written under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CandidateSummary } from './stats.js';
import type { ProfileSummary } from './profile-summary.js';

export interface EngineResult {
  anonMemory: number;
  cachedJwt: number;
  uncachedJwt: number;
}

export interface SoakResult {
  /** Median of the reading at the end of the warm-up and the next two. */
  rssAfterWarmupMb: number;
  /** Median of the last three readings. */
  rssEndMb: number;
  requests: number;
  /** Every reading after the warm-up, one per wrk chunk. */
  samples: { requests: number; rssMb: number }[];
}

export interface BenchResult {
  date: string;
  node: string;
  cpu: string;
  loadGenerator: string;
  /** The machine's 1-minute load average before and after the rounds: a noisy neighbour shows here. */
  loadAverage1m: { before: number; after: number };
  mode: 'full' | 'quick';
  settings: { rounds: number; durationS: number; warmupS: number; connections: number; threads: number; countStatuses: boolean };
  candidates: Record<string, CandidateSummary>;
  /** Candidates that were not measured, with the reason. */
  skipped: Record<string, string>;
  /** Candidates whose warm-up had errors or whose check request after the rounds was not exactly 200. */
  statusFailures: Record<string, string>;
  engine: EngineResult | null;
  redisRoundTripsPerFullRequest: number | null;
  /** The forward-auth candidates: requests sent one by one through the proxy, and how far the Redis meter moved (equal: nothing cached). */
  meterChecks: Record<string, { requests: number; counted: number }>;
  soak: SoakResult | null;
  /**
   * A full run also holds the burst mode's answer (400 to 3,200 requests at once, one process, fresh
   * users against a meter of 3): the largest burst each scenario answered exactly. Null otherwise.
   */
  burst: { scenario: string; largestExact: number | null; elapsedMs: number | null; firstInexact: number | null }[] | null;
  /** With --cpu-prof: where the profiled candidate's time went. */
  cpuProfile: { candidate: string; file: string; summary: ProfileSummary } | null;
}

const pad = (text: string, width: number) => text.padStart(width);
const ratio = (a: CandidateSummary, b: CandidateSummary | undefined) => (b ? (a.rps / b.rps).toFixed(2) : '-');

export function formatTable(result: BenchResult, order: readonly string[]): string {
  const raw = result.candidates['raw-proxy'];
  const hpm = result.candidates['express-hpm'];
  const header = ['candidate', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non2xx', 'x raw-proxy', 'x express-hpm', 'cpu µs/req', 'upstream µs/req'];
  const widths = [Math.max(20, ...order.map((name) => name.length)), 9, 8, 8, 7, 7, 12, 14, 11, 16];
  const lines = [header.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : pad(h, widths[i]))).join(' ')];
  for (const name of order) {
    const c = result.candidates[name];
    if (!c) {
      lines.push(`${name.padEnd(widths[0])} SKIPPED: ${(result.skipped[name] ?? 'not run').split('\n')[0].slice(0, 110)}`);
      continue;
    }
    const us = (value: number | null | undefined) => (value === null || value === undefined ? '-' : value.toFixed(0));
    const cells = [
      c.rps.toLocaleString('en-US'),
      c.p50Ms.toFixed(2),
      c.p99Ms.toFixed(2),
      String(c.errors),
      String(c.non2xx),
      ratio(c, raw),
      ratio(c, hpm),
      us(c.cpuUsPerRequest),
      us(c.upstreamCpuUsPerRequest),
    ];
    const flag = c.errors || c.non2xx || result.statusFailures[name] ? '  <-- FAILED' : '';
    lines.push(name.padEnd(widths[0]) + ' ' + cells.map((cell, i) => pad(cell, widths[i + 1])).join(' ') + flag);
  }
  return lines.join('\n');
}

/** Issue 7's budget, line by line: PASS, SHORT (with the numbers) or n/a when a side was not measured. */
export function budgetLines(result: BenchResult): string[] {
  const c = result.candidates;
  const check = (label: string, ok: boolean | null, detail: string) => `${ok === null ? 'n/a  ' : ok ? 'PASS ' : 'SHORT'} ${label}: ${detail}`;
  const rpsRatio = (a: string, b: string, min: number, label: string) =>
    c[a] && c[b] ? check(label, c[a].rps / c[b].rps >= min, `${(c[a].rps / c[b].rps).toFixed(2)} (need >= ${min})`) : check(label, null, 'not measured');
  const full = c['plangate-full'];
  const hpm = c['express-hpm'];
  return [
    rpsRatio('plangate-full', 'raw-proxy', 0.7, 'plangate-full / raw-proxy req/s'),
    rpsRatio('plangate-full', 'express-hpm', 1.5, 'plangate-full / express-hpm req/s'),
    full && hpm
      ? check('plangate-full p99 <= express-hpm p99', full.p99Ms <= hpm.p99Ms, `${full.p99Ms} ms vs ${hpm.p99Ms} ms`)
      : check('plangate-full p99 <= express-hpm p99', null, 'not measured'),
    rpsRatio('plangate-bypass', 'raw-proxy', 0.9, 'plangate-bypass / raw-proxy req/s'),
    rpsRatio('nginx-auth', 'plangate-full', 1.8, 'nginx-auth / plangate-full req/s'),
    c['nginx-auth'] && c.nginx ? check('nginx-auth / nginx req/s (reported)', true, (c['nginx-auth'].rps / c.nginx.rps).toFixed(2)) : check('nginx-auth / nginx req/s', null, 'not measured'),
    ...Object.entries(result.meterChecks ?? {}).map(([name, m]) =>
      check(`${name}: the Redis meter counts every request (no proxy cache)`, m.counted === m.requests, `${m.counted} counted of ${m.requests} requests`),
    ),
    result.engine
      ? check('engine anonymous in-memory decisions/s', result.engine.anonMemory >= 50_000, `${result.engine.anonMemory} (need >= 50000)`)
      : check('engine decisions/s', null, 'not measured'),
    result.redisRoundTripsPerFullRequest !== null
      ? check('Redis round trips per plangate-full request', result.redisRoundTripsPerFullRequest === 1, String(result.redisRoundTripsPerFullRequest))
      : check('Redis round trips per plangate-full request', null, 'not measured'),
    result.soak
      ? check(
          'soak RSS growth after warm-up',
          result.soak.rssEndMb <= result.soak.rssAfterWarmupMb * 1.1,
          `${result.soak.rssAfterWarmupMb} MB -> ${result.soak.rssEndMb} MB (need <= +10 %)`,
        )
      : check('soak RSS growth after warm-up', null, 'not run (use --soak)'),
    ...(result.burst ?? [{ scenario: 'gateway-declared', largestExact: null, elapsedMs: null, firstInexact: null, missing: true }]).map((b) =>
      'missing' in b
        ? check('burst of 400 at once answered exactly', null, 'not run (full runs only, or --burst)')
        : check(
            `burst of 400 at once answered exactly (${b.scenario})`,
            (b.largestExact ?? 0) >= 400,
            b.largestExact === null ? 'no burst was exact' : `largest exact ${b.largestExact} requests in ${b.elapsedMs} ms${b.firstInexact === null ? '' : `; ${b.firstInexact} not held`}`,
          ),
    ),
  ];
}

/** Writes bench/results/run-<date>.json, and latest.json when asked (full runs). Returns the paths. */
export function writeResult(dir: string, result: BenchResult, latest: boolean): string[] {
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const stamp = result.date.replace(/[:.]/g, '-');
  const files = [join(dir, `run-${stamp}.json`)];
  if (latest) files.push(join(dir, 'latest.json'));
  for (const file of files) writeFileSync(file, json);
  return files;
}
