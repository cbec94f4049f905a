// The soak: a million requests against one candidate (plangate-full by default), reading the server's
// resident memory after a 50,000-request warm-up and at the end. wrk runs by time, so it runs in
// chunks until the request count is reached; every chunk must be free of errors and bad statuses.
//
// A Node server's RSS is a garbage-collection sawtooth (plangate-full: 140 to 190 MB from one chunk
// to the next, with no trend), so one reading at each end measures where the sawtooth happened to be.
// Both ends are therefore the median of three readings: the one at the end of the warm-up and the
// next two; the last three. Every reading is kept in the result (`samples`).
import { readFile } from 'node:fs/promises';
import type { Running } from './candidates/types.js';
import type { SoakResult } from './report.js';
import { median } from './stats.js';
import { runWrk, type WrkSettings } from './wrk.js';

export interface SoakOptions {
  warmupRequests: number;
  totalRequests: number;
  chunkS: number;
}

export const SOAK_DEFAULTS: SoakOptions = { warmupRequests: 50_000, totalRequests: 1_000_000, chunkS: 10 };

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for process ${pid}`);
  return Math.round((kb / 1024) * 10) / 10;
}

export async function runSoak(
  name: string,
  running: Running,
  wrk: Omit<WrkSettings, 'durationS'>,
  tmpDir: string,
  options: SoakOptions = SOAK_DEFAULTS,
): Promise<SoakResult> {
  const pid = running.child?.process.pid;
  if (pid === undefined) throw new Error(`soak: ${name} has no process of its own to measure`);
  let requests = 0;
  let rssAfterWarmupMb: number | undefined;
  const perChunkRps: number[] = [];
  const samples: { requests: number; rssMb: number }[] = [];
  while (requests < options.totalRequests) {
    const goal = rssAfterWarmupMb === undefined ? options.warmupRequests : options.totalRequests;
    // Estimate the chunk from the rate so far, so the warm-up ends close to its count.
    const lastRps = perChunkRps.at(-1) ?? 5000;
    const durationS = Math.max(1, Math.min(options.chunkS, Math.ceil((goal - requests) / lastRps)));
    const result = await runWrk(running.target, { ...wrk, durationS }, tmpDir);
    if (result.errors || result.non2xx)
      throw new Error(`soak: ${name} had ${result.errors} socket errors and ${result.non2xx} bad statuses after ${requests} requests`);
    requests += result.requests;
    perChunkRps.push(result.rps);
    if (rssAfterWarmupMb === undefined && requests >= options.warmupRequests) {
      rssAfterWarmupMb = await rssMb(pid);
      samples.push({ requests, rssMb: rssAfterWarmupMb });
      console.log(`  soak: ${requests.toLocaleString('en-US')} requests (warm-up done), RSS ${rssAfterWarmupMb} MB`);
    } else if (rssAfterWarmupMb !== undefined) {
      const rss = await rssMb(pid);
      samples.push({ requests, rssMb: rss });
      console.log(`  soak: ${requests.toLocaleString('en-US')} requests, RSS ${rss} MB`);
    }
  }
  const readings = samples.map((s) => s.rssMb);
  return {
    rssAfterWarmupMb: readings.length > 0 ? median(readings.slice(0, 3)) : Number.NaN,
    rssEndMb: readings.length > 0 ? median(readings.slice(-3)) : await rssMb(pid),
    requests,
    samples,
  };
}
