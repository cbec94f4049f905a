// `npm run bench`: every candidate measured with wrk in alternating rounds (A B C ... A B C), medians
// reported, then the engine benchmark, the Redis round trips of plangate-full and (with --soak) the
// soak. Every server runs in its own process; all of them, and the harness's redis-server, are
// stopped at the end, on errors and on Ctrl-C. See docs/performance.md.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CANDIDATES, fromCheckout } from './candidates/index.js';
import { launchNodeServer, tsEntry } from './candidates/launch.js';
import { isSkipped, type BenchContext, type Candidate, type Running } from './candidates/types.js';
import { formatBurstTable, runBurstBench, writeBurstResult } from './burst.js';
import { formatFloodTable, runFloodBench, writeFloodResult } from './flood.js';
import { runEngineBench } from './engine.js';
import { closeAgent, get } from './http-check.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { installExitHandlers, onCleanup, setChildLogDir, stopAll } from './processes.js';
import { startRedisServer } from './redis.js';
import { budgetLines, formatTable, writeResult, type BenchResult } from './report.js';
import { measureRoundTrips } from './round-trips.js';
import { runSoak } from './soak.js';
import { summarize, type RoundResult } from './stats.js';
import { cpuUsPerRequest, processCpuSeconds } from './cpu-time.js';
import { formatProfile, summarizeProfile } from './profile-summary.js';
import { ensureWrk, runWrk, wrkVersion, type WrkSettings } from './wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// BENCH_START_TIMEOUT_MS: more time on a loaded machine (a candidate that has not answered 200 by then is skipped).
const START_TIMEOUT_MS = Number(process.env.BENCH_START_TIMEOUT_MS) || 30_000;

async function startCandidates(ctx: BenchContext, chosen: readonly Candidate[], skipped: Record<string, string>): Promise<Map<string, Running>> {
  // Started together (idle servers cost nothing while others are measured); kept in table order.
  const results = await Promise.all(chosen.map((candidate) => candidate.start(ctx)));
  const running = new Map<string, Running>();
  chosen.forEach((candidate, i) => {
    const result = results[i];
    if (isSkipped(result)) {
      skipped[candidate.name] = result.skipped;
      console.error(`!! ${candidate.name} SKIPPED: ${result.skipped}`);
    } else {
      running.set(candidate.name, result);
      console.log(`   ${candidate.name} ready at ${result.target.url}`);
    }
  });
  return running;
}

async function measure(
  running: Map<string, Running>,
  options: BenchOptions,
  wrk: Omit<WrkSettings, 'durationS'>,
  tmpDir: string,
  upstreamPid: number | undefined,
) {
  const rounds = new Map<string, RoundResult[]>([...running.keys()].map((name) => [name, []]));
  const statusFailures: Record<string, string> = {};
  console.log(`warm-up: ${options.warmupS} s each`);
  for (const [name, run] of running) {
    const warm = await runWrk(run.target, { ...wrk, durationS: options.warmupS }, tmpDir);
    if (warm.errors || warm.non2xx) statusFailures[name] = `warm-up had ${warm.errors} socket errors and ${warm.non2xx} bad statuses`;
  }
  for (let r = 1; r <= options.rounds; r++) {
    const line: string[] = [];
    for (const [name, run] of running) {
      const pid = run.child?.process.pid;
      const before = [processCpuSeconds(pid), processCpuSeconds(upstreamPid)];
      const result = await runWrk(run.target, { ...wrk, durationS: options.durationS }, tmpDir);
      const after = [processCpuSeconds(pid), processCpuSeconds(upstreamPid)];
      rounds.get(name)!.push({
        ...result,
        cpuUsPerRequest: cpuUsPerRequest(before[0], after[0], result.requests),
        upstreamCpuUsPerRequest: cpuUsPerRequest(before[1], after[1], result.requests),
      });
      const cpu = rounds.get(name)!.at(-1)!.cpuUsPerRequest;
      line.push(`${name} ${Math.round(result.rps)}${cpu === null ? '' : ` (${cpu.toFixed(0)} µs)`}`);
    }
    console.log(`round ${r}/${options.rounds}: ${line.join(', ')}`);
  }
  // wrk only counts statuses >= 400 by default: one more request per candidate must be exactly 200,
  // so a redirect (3xx) cannot pass unnoticed.
  for (const [name, run] of running) {
    const reply = await get(run.target);
    if (reply.status !== 200)
      statusFailures[name] = [statusFailures[name], `answered ${reply.status} after the rounds (expected 200)`].filter(Boolean).join('; ');
  }
  return { rounds, statusFailures };
}

/** Stops the profiled candidate (V8 writes the profile as it exits) and summarizes the newest profile. */
async function collectProfile(name: string, run: Running | undefined, dir: string): Promise<BenchResult['cpuProfile']> {
  if (!run?.child) {
    console.error(`!! --cpu-prof: ${name} is not a running Node server of the harness`);
    return null;
  }
  const pid = run.child.process.pid;
  await run.child.stop();
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's loader runs in a worker).
  const newest = readdirSync(dir)
    .filter((f) => f.includes(`.${pid}.0.`) && f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) {
    console.error(`!! --cpu-prof: ${name} wrote no profile into ${dir}`);
    return null;
  }
  return { candidate: name, file: newest.slice(ROOT.length), summary: summarizeProfile(newest) };
}

/** --burst: the largest burst held exactly, this checkout and (with --baseline) another, size by size. */
async function burstMode(options: BenchOptions, sizes: { from: number; max: number }): Promise<number> {
  const started = Date.now();
  const redis = await startRedisServer();
  onCleanup(() => redis.stop());
  console.log(`burst mode: ${sizes.from} to ${sizes.max} requests at once, doubling (redis ${redis.url})`);
  const result = await runBurstBench({ root: ROOT, baseline: options.baseline, redisUrl: redis.url, ...sizes });
  console.log(`\n${formatBurstTable(result)}\n\n${result.cpu}, load average ${result.loadAverage1m.before} → ${result.loadAverage1m.after}`);
  const files = writeBurstResult(join(ROOT, 'bench/results'), result);
  console.log(`\nfinished in ${Math.round((Date.now() - started) / 1000)} s; wrote ${files.map((f) => f.slice(ROOT.length)).join(', ')}`);
  return 0;
}

/** --flood: a flood of new anonymous visitors from one address, this checkout and (with --baseline) another. */
async function floodMode(options: BenchOptions, requests: number): Promise<number> {
  const started = Date.now();
  const result = await runFloodBench({ root: ROOT, baseline: options.baseline, requests });
  console.log(`\n${formatFloodTable(result)}\n\n${result.cpu}, load average ${result.loadAverage1m.before} → ${result.loadAverage1m.after}`);
  const files = writeFloodResult(join(ROOT, 'bench/results'), result);
  console.log(`\nfinished in ${Math.round((Date.now() - started) / 1000)} s; wrote ${files.map((f) => f.slice(ROOT.length)).join(', ')}`);
  return 0;
}

async function main(): Promise<number> {
  const started = Date.now();
  installExitHandlers();
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const options = parsed;
  const unknown = [...(options.only ?? []), ...(options.cpuProf ? [options.cpuProf] : [])].filter((name) => !CANDIDATES.some((c) => c.name === name));
  if (unknown.length)
    throw new Error(`--only or --cpu-prof names unknown candidates: ${unknown.join(', ')} (known: ${CANDIDATES.map((c) => c.name).join(', ')})`);

  if (options.burst !== null) return burstMode(options, options.burst);
  if (options.flood !== null) return floodMode(options, options.flood);

  await ensureWrk();
  const wrk = { threads: 1, connections: 32, countStatuses: options.countStatuses };
  const tmpDir = mkdtempSync(join(tmpdir(), 'plangate-bench-'));
  if (!process.env.BENCH_KEEP_TMP) onCleanup(() => rmSync(tmpDir, { recursive: true, force: true }));
  setChildLogDir(tmpDir);
  const redis = await startRedisServer();
  onCleanup(() => redis.stop());
  onCleanup(closeAgent);

  const profileDir = join(ROOT, 'bench/results/profiles');
  const ctx: BenchContext = { root: ROOT, upstreamUrl: '', redisUrl: redis.url, tmpDir, startTimeoutMs: START_TIMEOUT_MS };
  if (options.cpuProf) ctx.cpuProfile = { name: options.cpuProf, dir: profileDir };
  const upstream = await launchNodeServer(ctx, { name: 'upstream', nodeArgs: tsEntry('bench/upstream.ts') });
  if (isSkipped(upstream)) throw new Error(upstream.skipped);
  ctx.upstreamUrl = new URL(upstream.target.url).origin;

  const chosen = CANDIDATES.filter((c) => !options.only || options.only.includes(c.name));
  if (options.baseline !== null) chosen.push(...chosen.filter((c) => c.name.startsWith('plangate')).map((c) => fromCheckout(c, options.baseline!)));
  const skipped: Record<string, string> = {};
  console.log(`starting ${chosen.length} candidates (upstream ${ctx.upstreamUrl}, redis ${redis.url})`);
  const running = await startCandidates(ctx, chosen, skipped);

  const loadBefore = loadavg()[0];
  const { rounds, statusFailures } = await measure(running, options, wrk, tmpDir, upstream.child?.process.pid);
  const loadAfter = loadavg()[0];

  let engine: BenchResult['engine'] = null;
  if (options.engine) {
    console.log('engine benchmark...');
    // The engine is built alongside this harness: a crash there must not cost the HTTP numbers.
    const outcome = await runEngineBench({ quick: options.quick }).catch((err: Error) => ({ skipped: `engine benchmark failed: ${err.message}` }));
    if ('skipped' in outcome) {
      skipped.engine = outcome.skipped;
      console.error(`!! engine benchmark SKIPPED: ${outcome.skipped}`);
    } else engine = outcome;
  }

  const full = running.get('plangate-full');
  const redisRoundTripsPerFullRequest = full ? await measureRoundTrips(full.target, redis.url, options.quick ? 200 : 1000) : null;

  // No proxy may answer from a cache: N requests through it must move the Redis meter by exactly N.
  const meterChecks: BenchResult['meterChecks'] = {};
  for (const [name, run] of running) {
    if (run.meterCheck === undefined) continue;
    try {
      const check = await run.meterCheck();
      meterChecks[name] = check;
      console.log(`meter check ${name}: ${check.requests} requests through the proxy, the Redis meter moved by ${check.counted}`);
      if (check.counted !== check.requests)
        statusFailures[name] = [statusFailures[name], `the Redis meter moved by ${check.counted} for ${check.requests} requests`].filter(Boolean).join('; ');
    } catch (err) {
      statusFailures[name] = [statusFailures[name], `meter check failed: ${(err as Error).message}`].filter(Boolean).join('; ');
    }
  }

  let soak: BenchResult['soak'] = null;
  if (options.soak) {
    const target = running.get(options.soakTarget);
    if (!target) {
      skipped.soak = `${options.soakTarget} is not running`;
      console.error(`!! soak SKIPPED: ${skipped.soak}`);
    } else {
      console.log(`soak: ${options.soakTarget}, 1,000,000 requests...`);
      soak = await runSoak(options.soakTarget, target, wrk, tmpDir);
    }
  }

  // A full run ends with the burst mode (the meter store's exactness under load is part of the budget).
  let burst: BenchResult['burst'] = null;
  if (!options.quick && !options.only && options.baseline === null) {
    console.log('burst: 400 to 3,200 requests at once, one process...');
    const outcome = await runBurstBench({ root: ROOT, baseline: null, redisUrl: redis.url, from: 400, max: 3_200 }).catch((err: Error) => ({ failed: err.message }));
    if ('failed' in outcome) skipped.burst = `burst mode failed: ${outcome.failed}`;
    else
      burst = outcome.series.map((s) => ({
        scenario: s.kind,
        largestExact: s.largestExact?.requests ?? null,
        elapsedMs: s.largestExact?.elapsedMs ?? null,
        firstInexact: s.firstInexact?.requests ?? null,
      }));
  }

  const cpuProfile = options.cpuProf ? await collectProfile(options.cpuProf, running.get(options.cpuProf), profileDir) : null;

  const result: BenchResult = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`,
    loadGenerator: `${await wrkVersion()}, -t${wrk.threads} -c${wrk.connections}, ${options.rounds} alternating rounds of ${options.durationS} s, medians; statuses ${options.countStatuses ? 'counted by a response() hook' : 'from wrk errors.status (>= 400)'}`,
    loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadAfter.toFixed(2)) },
    mode: options.quick ? 'quick' : 'full',
    settings: { rounds: options.rounds, durationS: options.durationS, warmupS: options.warmupS, ...wrk },
    candidates: Object.fromEntries([...rounds].map(([name, list]) => [name, summarize(list)])),
    skipped,
    statusFailures,
    engine,
    redisRoundTripsPerFullRequest,
    meterChecks,
    soak,
    burst,
    cpuProfile,
  };

  console.log(
    `\n${formatTable(
      result,
      chosen.map((c) => c.name),
    )}\n`,
  );
  for (const c of chosen) console.log(`  ${c.name.padEnd(Math.max(20, ...chosen.map((x) => x.name.length)))} ${c.description}`);
  if (engine) console.log(`\nengine decisions/s: anonymous (memory) ${engine.anonMemory}, cached JWT ${engine.cachedJwt}, uncached JWT ${engine.uncachedJwt}`);
  if (cpuProfile) console.log(`\nCPU profile of ${cpuProfile.candidate} (${cpuProfile.file}):\n${formatProfile(cpuProfile.summary)}`);
  console.log(
    `\nbudget (issue 7):\n${budgetLines(result)
      .map((l) => `  ${l}`)
      .join('\n')}`,
  );

  const failed = Object.entries(result.candidates).filter(([name, s]) => s.errors || s.non2xx || statusFailures[name]);
  const missingRequired = chosen.filter((c) => c.required && skipped[c.name]);
  const complete = !options.quick && !options.only && options.baseline === null && failed.length === 0 && missingRequired.length === 0;
  const files = writeResult(join(ROOT, 'bench/results'), result, complete);
  console.log(`\nfinished in ${Math.round((Date.now() - started) / 1000)} s; wrote ${files.map((f) => f.slice(ROOT.length)).join(', ')}`);

  const skippedNames = Object.keys(skipped);
  if (skippedNames.length) console.error(`\n!! NOT MEASURED: ${skippedNames.join(', ')} (reasons above and in the JSON's "skipped")`);
  for (const [name, s] of failed)
    console.error(
      `!! FAILED: ${name} had ${s.errors} socket errors and ${s.non2xx} unexpected statuses${statusFailures[name] ? `; ${statusFailures[name]}` : ''}`,
    );
  for (const c of missingRequired) console.error(`!! FAILED: required candidate ${c.name} did not start`);
  return failed.length || missingRequired.length ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`\nbenchmark failed: ${(err as Error).stack ?? err}`);
} finally {
  await stopAll();
}
process.exit(code);
