// `npm run bench -- --burst`: the largest burst a plangate process answers exactly, and how long it
// takes. Bursts of fresh users (10 requests each against a meter of 3) double from --burst-from up
// to --burst-max, sent all at once through the real listener (test/support/burst-scenarios.ts), for
// the decision API with a workflow's consume() and the gateway with a declared consumption. A burst
// is exact when every user got exactly 3, nothing was degraded or shed, and the process logged no
// warning or error. With --baseline DIR the same bursts run from that checkout too, size by size.
import { cpus, loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startBurstRig, type BurstKind, type BurstOutcome } from '../test/support/burst-scenarios.js';

export interface BurstBenchOptions {
  root: string;
  baseline: string | null;
  redisUrl: string;
  from: number;
  max: number;
}

export interface BurstSeries {
  checkout: 'this' | 'baseline';
  kind: BurstKind;
  /** The largest burst answered exactly, with the time from the first request written to the last answer. */
  largestExact: { requests: number; elapsedMs: number } | null;
  /** The first burst that was not exact (none when every size up to --burst-max was). */
  firstInexact: BurstOutcome | null;
  runs: BurstOutcome[];
}

export interface BurstBenchResult {
  date: string;
  node: string;
  cpu: string;
  loadAverage1m: { before: number; after: number };
  sizes: number[];
  series: BurstSeries[];
}

/** Log lines are flushed by the process every second: wait that long after each burst to count its events. */
const SETTLE_MS = 1_100;
const KINDS: readonly BurstKind[] = ['gateway-declared', 'api-workflow'];

export async function runBurstBench(options: BurstBenchOptions): Promise<BurstBenchResult> {
  const sizes: number[] = [];
  for (let n = options.from; n <= options.max; n *= 2) sizes.push(n);
  const checkouts: { checkout: BurstSeries['checkout']; root: string }[] = [{ checkout: 'this', root: options.root }];
  if (options.baseline !== null) checkouts.push({ checkout: 'baseline', root: resolve(options.baseline) });
  const loadBefore = loadavg()[0];
  const series: BurstSeries[] = [];
  for (const kind of KINDS) {
    const rigs = await Promise.all(
      checkouts.map(async ({ checkout, root }) => ({
        series: { checkout, kind, largestExact: null, firstInexact: null, runs: [] } as BurstSeries,
        rig: await startBurstRig({
          kind,
          processes: 1,
          root,
          store: { url: options.redisUrl, redisYaml: `url: "${options.redisUrl}"` },
          keyPrefix: `plangate-bench-burst:${Date.now().toString(36)}:${checkout}:`,
          settleMs: SETTLE_MS,
        }),
      })),
    );
    try {
      // Size by size, each checkout in turn, until each has a burst it did not hold.
      for (const size of sizes) {
        for (const { series: s, rig } of rigs) {
          if (s.firstInexact !== null) continue;
          const outcome = await rig.burst(size / 10, 10);
          s.runs.push(outcome);
          console.log(`   ${kind} ${s.checkout.padEnd(8)} ${String(size).padStart(6)} at once: ${describe(outcome)}`);
          if (outcome.exact) s.largestExact = { requests: size, elapsedMs: outcome.elapsedMs };
          else s.firstInexact = outcome;
        }
        if (rigs.every((r) => r.series.firstInexact !== null)) break;
      }
    } finally {
      await Promise.all(rigs.map((r) => r.rig.close()));
    }
    series.push(...rigs.map((r) => r.series));
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`,
    loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
    sizes,
    series,
  };
}

function describe(o: BurstOutcome): string {
  if (o.exact) return `exact in ${o.elapsedMs} ms`;
  const events = Object.entries(o.events)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return `NOT exact in ${o.elapsedMs} ms: ${o.overGranted} of ${o.users} users over-granted (up to ${o.maxGrants}), ${o.underGranted} under, ${o.degraded} degraded, ${o.shed} shed, ${o.errors} errors${events ? `; ${events}` : ''}`;
}

export function formatBurstTable(result: BurstBenchResult): string {
  const lines = ['scenario (one process)      checkout   largest exact burst   time to answer it   first burst not held'];
  for (const s of result.series) {
    const exact = s.largestExact === null ? 'none' : `${s.largestExact.requests} requests`;
    const time = s.largestExact === null ? '-' : `${s.largestExact.elapsedMs} ms`;
    const first = s.firstInexact === null ? `none up to ${result.sizes.at(-1)}` : `${s.firstInexact.requests}: ${describe(s.firstInexact)}`;
    lines.push(`${s.kind.padEnd(27)} ${s.checkout.padEnd(10)} ${exact.padEnd(21)} ${time.padEnd(19)} ${first}`);
  }
  return lines.join('\n');
}

/** run-burst-<date>.json (not committed) and burst-latest.json (committed, like latest.json). */
export function writeBurstResult(dir: string, result: BurstBenchResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, `run-burst-${result.date.replace(/[:.]/g, '-')}.json`), join(dir, 'burst-latest.json')];
  for (const file of files) writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return files;
}
