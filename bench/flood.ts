// `npm run bench -- --flood N`: N cookie-less requests for different articles from one address (a
// flood of new anonymous visitors, issue 13) through one gateway process, with 20 readers on other
// networks reading at the same time. Reports how many new ids the flood got, how many reads, how
// much Redis's data grew (used_memory_dataset) and whether the other readers kept exactly 3 each.
// With --baseline DIR the same flood runs from that checkout too (before the new-id budget).
import { cpus, loadavg } from 'node:os';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { sendBurst, sendOver, type BurstReply, type BurstRequest } from '../test/support/burst.js';
import { anonymousIdsYaml, startEchoUpstream } from '../test/support/burst-scenarios.js';
import { startPlangate } from '../test/support/plangate-process.js';
import { startRedisServer } from '../test/support/redis-server.js';

export interface FloodRun {
  checkout: 'this' | 'baseline';
  requests: number;
  elapsedMs: number;
  /** Flood answers that set an anonymous cookie: new ids handed out. */
  newIds: number;
  /** Flood requests answered 200 (an article read). */
  reads: number;
  /** Anything but 200 and 402. */
  errors: number;
  /** Growth of Redis's used_memory_dataset over the flood. */
  redisGrowthBytes: number;
  /** Every reader on another network got exactly 3 of their 10 reads during the flood. */
  othersExact: boolean;
  /** Warnings and errors the gateway logged, by code. */
  events: Record<string, number>;
}

export interface FloodBenchResult {
  date: string;
  node: string;
  cpu: string;
  loadAverage1m: { before: number; after: number };
  runs: FloodRun[];
}

const FLOODER = '198.51.100.7';
const READERS = 20;
const CONNECTIONS = 64;

export async function runFloodBench(options: { root: string; baseline: string | null; requests: number }): Promise<FloodBenchResult> {
  const loadBefore = loadavg()[0];
  const runs: FloodRun[] = [];
  const checkouts: { checkout: FloodRun['checkout']; root: string }[] = [{ checkout: 'this', root: options.root }];
  if (options.baseline !== null) checkouts.push({ checkout: 'baseline', root: resolve(options.baseline) });
  for (const { checkout, root } of checkouts) {
    console.log(`   ${checkout}: ${options.requests} cookie-less requests from one address...`);
    runs.push(await floodOnce(checkout, root, options.requests));
    const r = runs.at(-1)!;
    console.log(
      `   ${checkout}: ${r.newIds} new ids, ${r.reads} reads, ${r.errors} errors, Redis +${r.redisGrowthBytes} bytes, other readers ${r.othersExact ? 'exact' : 'NOT exact'} (${r.elapsedMs} ms); logged ${JSON.stringify(r.events)}`,
    );
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`,
    loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
    runs,
  };
}

async function floodOnce(checkout: FloodRun['checkout'], root: string, requests: number): Promise<FloodRun> {
  const redis = await startRedisServer();
  const admin = new Redis(redis.url);
  const upstream = await startEchoUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'plangate-flood-'));
  const config = join(dir, 'flood.yaml');
  writeFileSync(
    config,
    `version: 1
${anonymousIdsYaml(root)}features:
  articles: {}
plans:
  anonymous: { assign: anonymous, features: { articles: { enabled: { limit: 3, period: month, uniqueResources: true } } } }
surfaces:
  article: {}
store:
  redis: { url: "${redis.url}", keyPrefix: "flood:" }
gateway:
  upstream: ${upstream.url}
  trustProxy: true
  routes:
    - path: /articles/**
      surface: article
      consume: [articles.enabled]
    - path: /**
      bypass: true
`,
  );
  const gateway = await startPlangate({ command: 'gateway', config, env: { PLANGATE_LOG_LEVEL: 'warn' }, root });
  try {
    const article = (n: number | string, headers: Record<string, string>): BurstRequest => ({
      url: `${gateway.url}/articles/${n}`,
      headers: { accept: 'application/json', ...headers },
    });
    const cookieOf = (reply: BurstReply) =>
      ([] as string[])
        .concat(reply.headers['set-cookie'] ?? [])
        .map((c) => c.split(';')[0])
        .find((c) => c.startsWith('plangate_anon='));
    const readers: { address: string; cookie: string }[] = [];
    for (let i = 1; i <= READERS; i++) {
      const address = `203.0.113.${i}`;
      const [first] = (await sendBurst([article('intro', { 'x-forwarded-for': address })])).replies;
      readers.push({ address, cookie: cookieOf(first)! });
    }
    const dataset = async () => Number(/^used_memory_dataset:(\d+)/m.exec(await admin.info('memory'))![1]);
    const before = await dataset();
    const started = performance.now();
    const flood = sendOver(
      Array.from({ length: requests }, (_, i) => article(i, { 'x-forwarded-for': FLOODER })),
      CONNECTIONS,
    );
    // The readers' 10 articles each, at once, while the flood runs.
    await new Promise((r) => setTimeout(r, 500));
    const readerRequests = readers.flatMap((r) => Array.from({ length: 10 }, (_, n) => article(`r${n}`, { 'x-forwarded-for': r.address, cookie: r.cookie })));
    const readerReplies = (await sendBurst(readerRequests)).replies;
    const { replies } = await flood;
    const elapsedMs = Math.round(performance.now() - started);
    // Each reader read `intro` already: 2 more of 3.
    const othersExact = readers.every((reader) => {
      const mine = readerReplies.filter((_, i) => readerRequests[i].headers!.cookie === reader.cookie);
      return mine.filter((r) => r.status === 200).length === 2 && mine.filter((r) => r.status === 402).length === 8;
    });
    await gateway.stop();
    const events: Record<string, number> = {};
    for (const code of gateway.problems()) events[code] = (events[code] ?? 0) + 1;
    return {
      checkout,
      requests,
      elapsedMs,
      events,
      newIds: replies.filter((r) => cookieOf(r) !== undefined).length,
      reads: replies.filter((r) => r.status === 200).length,
      errors: replies.filter((r) => r.status !== 200 && r.status !== 402).length,
      redisGrowthBytes: (await dataset()) - before,
      othersExact,
    };
  } finally {
    await gateway.stop();
    await upstream.close();
    admin.disconnect();
    await redis.stop();
  }
}

export function formatFloodTable(result: FloodBenchResult): string {
  const lines = ['checkout   requests   new ids   reads   errors   Redis data growth      others exact   time'];
  for (const r of result.runs) {
    const growth = `${(r.redisGrowthBytes / 1024).toFixed(0)} KB`;
    lines.push(
      `${r.checkout.padEnd(10)} ${String(r.requests).padStart(8)}   ${String(r.newIds).padStart(7)}   ${String(r.reads).padStart(5)}   ${String(r.errors).padStart(6)}   ${growth.padEnd(20)}   ${String(r.othersExact).padEnd(12)}   ${r.elapsedMs} ms`,
    );
  }
  return lines.join('\n');
}

/** run-flood-<date>.json (not committed) and flood-latest.json (committed). */
export function writeFloodResult(dir: string, result: FloodBenchResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, `run-flood-${result.date.replace(/[:.]/g, '-')}.json`), join(dir, 'flood-latest.json')];
  for (const file of files) writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return files;
}
