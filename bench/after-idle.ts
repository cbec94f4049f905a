// CPU per request second by second after a quiet spell (docs/performance.md, "The afternoon of
// 2026-12-06"). A full bench run measures each candidate after about 70 s in which the others take
// their turn; this shows what such a gap does to the first seconds of traffic, which the 5-s rounds
// average away.
//
//   npx tsx bench/after-idle.ts [--idle 60] [--cycles 3] [--candidates raw-proxy,plangate-full,plangate-full@../before]
//
// Each cycle: every candidate in turn gets five 1-s wrk runs (-t1 -c32), each printed as
// `requests/CPU µs per request` of the candidate's process; then nothing for --idle seconds.
// `name@DIR` starts the candidate from another checkout (as `npm run bench -- --baseline DIR`), so
// the same code can be compared with different node flags in its Dockerfile. Needs wrk and
// redis-server, like the bench; every process it starts is stopped at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CANDIDATES, fromCheckout } from './candidates/index.js';
import { launchNodeServer, tsEntry } from './candidates/launch.js';
import { isSkipped, type BenchContext, type Running } from './candidates/types.js';
import { processCpuSeconds } from './cpu-time.js';
import { installExitHandlers, setChildLogDir, stopAll } from './processes.js';
import { startRedisServer } from './redis.js';
import { ensureWrk, runWrk } from './wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    idle: { type: 'string', default: '60' },
    cycles: { type: 'string', default: '3' },
    candidates: { type: 'string', default: 'raw-proxy,plangate-full' },
  },
});
const idleS = Number(values.idle);
const cycles = Number(values.cycles);
if (!(idleS >= 0) || !Number.isInteger(cycles) || cycles < 1) throw new Error('--idle takes seconds (0 or more), --cycles a whole number of at least 1');

installExitHandlers();
await ensureWrk();
const tmpDir = mkdtempSync(join(tmpdir(), 'plangate-after-idle-'));
setChildLogDir(tmpDir);
const redis = await startRedisServer();
try {
  const ctx: BenchContext = { root: ROOT, upstreamUrl: '', redisUrl: redis.url, tmpDir, startTimeoutMs: 30_000 };
  const upstream = await launchNodeServer(ctx, { name: 'upstream', nodeArgs: tsEntry('bench/upstream.ts') });
  if (isSkipped(upstream)) throw new Error(upstream.skipped);
  ctx.upstreamUrl = new URL(upstream.target.url).origin;

  const running: [string, Running][] = [];
  for (const spec of values.candidates.split(',')) {
    const [name, dir] = spec.split('@');
    const candidate = CANDIDATES.find((c) => c.name === name);
    if (candidate === undefined) throw new Error(`no candidate named ${name}`);
    const started = await (dir === undefined ? candidate : fromCheckout(candidate, dir)).start(ctx);
    if (isSkipped(started)) throw new Error(`${spec}: ${started.skipped}`);
    running.push([spec, started]);
  }

  for (let cycle = 1; cycle <= cycles; cycle++) {
    for (const [spec, run] of running) {
      const seconds: string[] = [];
      for (let second = 0; second < 5; second++) {
        const before = processCpuSeconds(run.child?.process.pid);
        const result = await runWrk(run.target, { threads: 1, connections: 32, durationS: 1, countStatuses: false }, tmpDir);
        const after = processCpuSeconds(run.child?.process.pid);
        const us = before === null || after === null ? '?' : Math.round(((after - before) * 1e6) / result.requests);
        seconds.push(`${result.requests}/${us}µs`);
      }
      console.log(`cycle ${cycle} ${spec.padEnd(28)} ${seconds.join('  ')}`);
    }
    if (cycle < cycles) await new Promise((done) => setTimeout(done, idleS * 1000));
  }
} finally {
  await stopAll();
  await redis.stop();
  rmSync(tmpDir, { recursive: true, force: true });
}
