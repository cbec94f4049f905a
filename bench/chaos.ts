// `npm run chaos [-- --runs N] [--failovers N] [--only redis,cluster,sentinel,upstream] [--no-write]`: breaks Redis (and the upstream) under steady load in
// every way the docs promise an answer for, and tabulates what happened: calls answered by the
// failure policy, decisions beyond policy (must be 0), p99 decision time during the fault, recovery
// time, and increments lost. The table is printed and written into docs/redis.md between the chaos
// markers. Not part of `npm test`: the assertions it relies on are in the test suite
// (test/engine/meters/redis-*-failover.test.ts, redis-outage.test.ts); this measures.
//
// The Redis rows drive the meter store itself (one store call is what a decision costs, and the
// engine applies the failure policy to exactly the calls that fail here), through
// test/support/meter-load.ts, with every increment audited in Redis afterwards. The upstream row runs
// a real gateway process, since only the gateway talks to the upstream.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { RedisMeterStore } from '../src/engine/meters/redis.js';
import { auditLoad, loadThroughFault, visitorsInSlots, type FaultOutcome, type FaultScenario } from '../test/support/meter-load.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { askRedis, startRedisServer } from '../test/support/redis-server.js';
import { startRedisSentinel } from '../test/support/redis-sentinel.js';
import { startTcpProxy } from '../test/support/tcp-proxy.js';
import { flappingUpstreamRow } from './chaos-upstream.js';

const DOC = 'docs/redis.md';
const START = '<!-- chaos:start (written by `npm run chaos`) -->';
const END = '<!-- chaos:end -->';
/** How long a fault that needs mending (a dead, paused or cut-off Redis) lasts. */
const HOLD_MS = 2_000;

export interface ChaosRow {
  fault: string;
  runs: number;
  /** Calls (requests for the upstream row) sent while the fault lasted, summed over the runs. */
  duringFault: number;
  /** Of those, answered by the failure policy (or, for the upstream, with a 502). */
  byPolicy: number;
  /** Grants beyond the limit that lost increments do not explain, summed (must be 0). */
  beyondPolicy: number;
  /** The worst run's p99 decision time during the fault. */
  p99Ms: number;
  /** Recovery time: median and worst over the runs. */
  recoveryMs: { median: number; max: number };
  /** Grants answered in the 200 ms before the fault, fewest of any run: writes were in flight when it struck. */
  grantsBefore: number;
  /** Acknowledged increments missing from Redis afterwards: total, and the worst run. */
  lost: { total: number; max: number };
  note: string;
}

/** A limit high enough that visitors are still being granted when the fault strikes (the table says how many were). */
const LOAD = { limit: 300, concurrency: 16, pauseMs: 2, warmupMs: 500, recoverWithinMs: 30_000 } as const;

function summarize(fault: string, outcomes: FaultOutcome[], note: string): ChaosRow {
  const recoveries = outcomes.map((o) => o.recoveryMs).sort((a, b) => a - b);
  for (const o of outcomes) if (!o.refusedAfter) note += ' (a run ended before every visitor met the limit again)';
  return {
    fault,
    runs: outcomes.length,
    duringFault: outcomes.reduce((n, o) => n + o.duringFault.calls, 0),
    byPolicy: outcomes.reduce((n, o) => n + o.duringFault.byPolicy, 0),
    beyondPolicy: outcomes.reduce((n, o) => n + o.audit.beyondPolicy + o.audit.overLimit + o.audit.inconsistent + (o.audit.failed.other ?? 0), 0),
    p99Ms: Math.max(...outcomes.map((o) => o.duringFault.p99Ms)),
    recoveryMs: { median: recoveries[Math.floor(recoveries.length / 2)], max: recoveries.at(-1)! },
    lost: { total: outcomes.reduce((n, o) => n + o.audit.lost, 0), max: Math.max(...outcomes.map((o) => o.audit.lost)) },
    grantsBefore: Math.min(...outcomes.map((o) => o.grantedJustBefore)),
    note,
  };
}

/** Polls `promoted` every 50 ms from now; resolves with the ms it took (the failover itself, before the client follows). */
function timePromotion(promoted: () => Promise<boolean>): Promise<number> {
  const from = performance.now();
  return new Promise((resolve) => {
    const poll = async () => {
      if (await promoted().catch(() => false)) return resolve(Math.round(performance.now() - from));
      setTimeout(poll, 50);
    };
    void poll();
  });
}

/** One failover under load: the store made ready, the kill, the time to the promotion, the audit; the store closed. */
async function failoverRun(options: {
  store: RedisMeterStore;
  visitors: string[];
  kill(): Promise<void>;
  promoted(): Promise<boolean>;
  audit: FaultScenario['audit'];
}): Promise<{ outcome: FaultOutcome; promotionMs: number }> {
  let promotion = Promise.resolve(0);
  try {
    await options.store.health.whenReady(10_000);
    const outcome = await loadThroughFault({
      ...LOAD,
      store: options.store,
      visitors: options.visitors,
      fault: async () => {
        await options.kill();
        promotion = timePromotion(options.promoted);
      },
      audit: options.audit,
    });
    return { outcome, promotionMs: await promotion };
  } finally {
    await options.store.close();
  }
}

type Scenario = Omit<FaultScenario, 'store' | 'visitors' | 'audit' | keyof typeof LOAD>;

/** One run against a single redis-server (AOF on every write, so a restart keeps the counts). */
async function singleServerRows(runs: number): Promise<ChaosRow[]> {
  const server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port });
  const admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
  admin.on('error', () => {});
  const faults: { name: string; through: 'direct' | 'proxy'; scenario: Scenario; note: string }[] = [
    {
      name: 'Redis killed (SIGKILL), back after 2 s',
      through: 'direct',
      scenario: { fault: () => server.stop(), holdMs: HOLD_MS, heal: () => server.restart() },
      note: 'recovery counted from the restart; AOF `always`, so nothing acknowledged is lost',
    },
    {
      name: 'Redis restarted (SIGKILL, started again at once)',
      through: 'direct',
      scenario: { fault: async () => {}, holdMs: 0, heal: async () => (await server.stop(), await server.restart()) },
      note: 'recovery counted from the kill',
    },
    {
      name: 'Redis slowed beyond the timeout (CLIENT PAUSE 2 s)',
      through: 'direct',
      scenario: { fault: () => askRedis(server.port, (r) => r.call('CLIENT', 'PAUSE', String(HOLD_MS), 'ALL')).then(() => {}), holdMs: HOLD_MS, heal: async () => {} },
      note: 'every paused call answered by policy after the 80 ms of silence; recovery counted from the end of the pause',
    },
    {
      name: 'network to Redis cut for 2 s (a TCP proxy forwards nothing either way)',
      through: 'proxy',
      scenario: { fault: () => proxy.setMode({ kind: 'hang' }), holdMs: HOLD_MS, heal: () => proxy.setMode({ kind: 'pass' }) },
      note: 'recovery counted from the reconnection of the network',
    },
  ];
  const rows: ChaosRow[] = [];
  try {
    for (const { name, through, scenario, note } of faults) {
      const outcomes: FaultOutcome[] = [];
      for (let run = 0; run < runs; run++) {
        const prefix = `plangate-chaos:${Date.now().toString(36)}:${run}:`;
        const store = new RedisMeterStore({ redis: { url: through === 'proxy' ? proxy.url : server.url, keyPrefix: prefix } });
        try {
          await store.health.whenReady(5_000);
          outcomes.push(
            await loadThroughFault({
              ...LOAD,
              ...scenario,
              store,
              visitors: Array.from({ length: 8 }, (_, i) => `${prefix}v${i}`),
              audit: async (calls, options) => auditLoad(admin, { prefix, ...options }, calls),
            }),
          );
        } finally {
          await store.close();
        }
        await deleteUnder(admin, prefix);
      }
      rows.push(summarize(name, outcomes, note));
      console.error(`chaos: ${name}: done`);
    }
  } finally {
    admin.disconnect();
    await proxy.close();
    await server.stop();
    rmSync(server.dir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * With `lagged`, the loss window is made wide on purpose: the victim's replica is frozen (SIGSTOP),
 * 24 MB of filler written to the primary fill the socket buffers between them, and the load runs on
 * for LAG_MS before the kill; the replica is thawed right after. What the primary acknowledged in
 * that time was still in its own output buffer, so it dies with it.
 */
async function clusterRow(runs: number, lagged = false): Promise<ChaosRow> {
  const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1_000 });
  const admin = new Cluster(cluster.seeds, { redisOptions: { maxRetriesPerRequest: 3 } });
  admin.on('error', () => {});
  const outcomes: FaultOutcome[] = [];
  const promotions: number[] = [];
  const lags: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const prefix = `plangate-chaos:${Date.now().toString(36)}:c${run}:`;
      const nodes = await cluster.nodes();
      const victim = nodes.find((n) => n.role === 'primary' && n.running)!;
      const replica = nodes.find((n) => n.primaryId === victim.id && n.running)!;
      const serves = (slot: number) => victim.slots.some(([a, b]) => slot >= a && slot <= b);
      const visitors = visitorsInSlots(8, serves, cluster.slotOf, `${prefix}v`);
      const slot = victim.slots[0][0];
      const { outcome, promotionMs } = await failoverRun({
        store: new RedisMeterStore({ redis: { cluster: cluster.seeds, keyPrefix: prefix } }),
        visitors,
        kill: async () => {
          if (lagged) {
            const frozenAt = performance.now();
            cluster.freeze(replica.port, true);
            await fillReplicationBuffers(victim, prefix);
            await new Promise((r) => setTimeout(r, LAG_MS));
            lags.push(Math.round(performance.now() - frozenAt));
          }
          await cluster.kill(victim.port);
          if (lagged) cluster.freeze(replica.port, false);
        },
        promoted: async () => (await cluster.ownerOf(slot)).port !== victim.port,
        audit: async (calls, options) => {
          await cluster.waitUntilOk();
          return auditLoad(admin, { prefix, ...options }, calls);
        },
      });
      outcomes.push(outcome);
      promotions.push(promotionMs);
      // The old primary comes back as a replica of the one that took over.
      await cluster.restart(victim.port);
      await cluster.waitUntilOk();
      console.error(`chaos: cluster failover${lagged ? ' (lagging replica)' : ''} ${run + 1}/${runs}: recovery ${outcomes.at(-1)!.recoveryMs} ms, lost ${outcomes.at(-1)!.audit.lost}`);
    }
  } finally {
    admin.disconnect();
    await cluster.stop();
  }
  if (!lagged) return summarize('Cluster primary killed (3+3 nodes, node timeout 1 s)', outcomes, `the cluster promoted the replica after ${range(promotions)} ms`);
  return summarize(
    'Cluster primary killed while its replica lags (replica frozen with SIGSTOP, its socket filled)',
    outcomes,
    `the loss window made wide on purpose: the replica read nothing for the last ${range(lags)} ms before the kill, and what the primary acknowledged in that time died with it; the grants those lost increments allowed past the limit are counted as lost, not beyond policy; promoted after ${range(promotions)} ms`,
  );
}

const LAG_MS = 300;

/** 24 MB written to the primary (under the run's prefix, on a slot of its own) while its replica reads nothing. */
async function fillReplicationBuffers(primary: { port: number; slots: [number, number][] }, prefix: string): Promise<void> {
  const filler = 'x'.repeat(1 << 20);
  const [first, last] = primary.slots[0];
  // A key whose slot this primary serves, found by trying tags.
  let key = '';
  for (let i = 0; key === ''; i++) {
    const slot = calculateSlot(`${prefix}{filler-${i}}`);
    if (slot >= first && slot <= last) key = `${prefix}{filler-${i}}`;
  }
  await askRedis(primary.port, async (r) => {
    for (let i = 0; i < 24; i++) await r.set(key, filler, 'PX', 60_000);
  });
}

async function sentinelRow(runs: number): Promise<ChaosRow> {
  const group = await startRedisSentinel({ downAfterMs: 1_000 });
  const outcomes: FaultOutcome[] = [];
  const promotions: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const prefix = `plangate-chaos:${Date.now().toString(36)}:s${run}:`;
      const first = await group.primary();
      const { outcome, promotionMs } = await failoverRun({
        store: new RedisMeterStore({ redis: { sentinels: group.sentinels, name: group.name, keyPrefix: prefix } }),
        visitors: Array.from({ length: 8 }, (_, i) => `${prefix}v${i}`),
        kill: () => group.kill(first.port),
        promoted: async () => (await group.primary()).port !== first.port,
        audit: async (calls, options) => {
          await group.waitUntilStable();
          const redis = new Redis(await group.primary());
          return auditLoad(redis, { prefix, ...options }, calls).finally(() => redis.disconnect());
        },
      });
      outcomes.push(outcome);
      promotions.push(promotionMs);
      await group.restart(first.port);
      await group.waitUntilStable();
      console.error(`chaos: sentinel failover ${run + 1}/${runs}: recovery ${outcomes.at(-1)!.recoveryMs} ms, lost ${outcomes.at(-1)!.audit.lost}`);
    }
  } finally {
    await group.stop();
  }
  return summarize(
    'Sentinel failover (primary killed; 1 replica, 3 Sentinels, down-after 1 s)',
    outcomes,
    `the Sentinels named the new primary after ${range(promotions)} ms`,
  );
}

/** A time for the table; a fault never recovered from reads so. */
function ms(value: number): string {
  return Number.isFinite(value) ? `${value} ms` : 'not recovered';
}

function range(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? '?' : sorted[0] === sorted.at(-1) ? String(sorted[0]) : `${sorted[0]}–${sorted.at(-1)}`;
}

async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

function table(rows: ChaosRow[], runs: number, failovers: number): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const lines = [
    START,
    '',
    `Measured by \`npm run chaos -- --runs ${runs} --failovers ${failovers}\` (${failovers} runs of each failover, ${runs} of each other fault) on ${new Date().toISOString().slice(0, 10)}: ${cpu}, ${cpus().length} vCPUs, Node ${process.version}, Redis from the`,
    `\`redis-server\` on PATH. The machine is shared with other work (1-minute load average ${loadavg()[0].toFixed(1)} at the end of the run): times are`,
    'what this loaded machine gave, not a capacity figure. Load: 16 calls in flight on 8 visitors, meter limit 300 each',
    '(upstream row: 16 requests in flight through one gateway process); a run ends once every visitor has met the limit again.',
    '',
    '| fault | runs | grants in the 200 ms before (fewest) | calls during the fault | answered by policy | beyond policy | p99 during the fault | recovery (median / max) | increments lost (total / worst run) | note |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.runs} | ${r.grantsBefore} | ${r.duringFault} | ${r.byPolicy} | ${r.beyondPolicy} | ${r.p99Ms} ms | ${ms(r.recoveryMs.median)} / ${ms(r.recoveryMs.max)} | ${r.lost.total} / ${r.lost.max} | ${r.note} |`,
    ),
    '',
    END,
  ];
  return lines.join('\n');
}

function writeDoc(text: string): void {
  const doc = readFileSync(DOC, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${DOC} has no chaos markers (${START} ... ${END}); add them where the table belongs`);
  writeFileSync(DOC, doc.slice(0, from) + text + doc.slice(to + END.length));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const count = (flag: string, fallback: number) => {
    const at = args.indexOf(flag);
    const value = at >= 0 ? Number(args[at + 1]) : fallback;
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag}: expected a positive integer, got ${args[at + 1]}`);
    return value;
  };
  const runs = count('--runs', 3);
  const failovers = count('--failovers', 10);
  const scratch = mkdtempSync(join(tmpdir(), 'plangate-chaos-'));
  try {
    const onlyAt = args.indexOf('--only');
    const only = onlyAt >= 0 ? args[onlyAt + 1].split(',') : ['redis', 'cluster', 'sentinel', 'upstream'];
    const groups: [string, () => Promise<ChaosRow[]>][] = [
      ['redis', () => singleServerRows(runs)],
      ['cluster', async () => [await clusterRow(failovers), await clusterRow(runs, true)]],
      ['sentinel', async () => [await sentinelRow(failovers)]],
      ['upstream', async () => [await flappingUpstreamRow(runs, scratch)]],
    ];
    const rows: ChaosRow[] = [];
    for (const [name, measure] of groups) if (only.includes(name)) rows.push(...(await measure()));
    if (rows.length === 0) throw new Error(`--only: expected a comma-separated list of ${groups.map(([n]) => n).join(', ')}`);
    const text = table(rows, runs, failovers);
    console.log(text);
    // A partial run (--only) is printed, never written over the whole table.
    if (!args.includes('--no-write') && onlyAt < 0) {
      writeDoc(text);
      console.error(`chaos: table written to ${DOC}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
