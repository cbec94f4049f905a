// `npm run soak`: the long soak, outside the test suite. One `plangate gateway` process (the built
// dist/) over its own redis-server, in front of the benchmark upstream, takes 1,000,000 requests of
// the full path (identity from a JWT or a signed anonymous cookie, plans, one Redis script call that
// consumes a metered unit, headers injected and signed, the request log line written) from a fixed
// set of visitors, with wrk in chunks. After each chunk it samples the gateway's resident memory
// (VmRSS), its open file descriptors (/proc/<pid>/fd), its CPU time per request (/proc/<pid>/stat),
// its event-loop lag (prom-client's p99 over the chunk, from /metrics), the event-loop lag of an idle
// control process (what the machine's scheduling alone costs a Node process: on a shared, loaded
// machine that is most of it), and Redis's used_memory and key count.
//
// Judged (exit 1 when not met): after the warm-up, the median of the last third of the samples is
// within 10 % of the median of the first third, for RSS, Redis memory, CPU time per request, and the
// lag the gateway has beyond the control's (or within 1 ms of it); every response 2xx, no socket
// errors; and, once wrk has closed its connections and the gateway's idle upstream connections have
// timed out, the fd count back to the count before the first request.
//
//   npm run soak -- [--requests 1000000] [--visitors 1000] [--warmup 100000] [--connections 32] [--chunk-s 15]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { AnonymousIds } from '../src/engine/identity/anonymous-ids.js';
import { freePort, startRedisServer } from '../test/support/redis-server.js';
import { median } from './stats.js';
import { ensureWrk } from './wrk.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    visitors: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '32' },
    'chunk-s': { type: 'string', default: '15' },
  },
});
const TOTAL = Number(values.requests);
const VISITORS = Number(values.visitors);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const CHUNK_S = Number(values['chunk-s']);
const ARTICLES = 50;

interface Sample {
  requests: number;
  rssMb: number;
  fds: number;
  cpuUsPerRequest: number;
  lagP99Ms: number;
  controlLagP99Ms: number;
  redisMb: number;
  redisKeys: number;
  rps: number;
}

const children: ChildProcess[] = [];
const stopAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
};
process.on('exit', stopAll);

function startChild(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, NODE_ENV: 'production', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.error(`soak: ${name} exited (${code ?? signal}): ${stderr}`);
  });
  children.push(child);
  return child;
}

async function waitFor(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`soak: nothing answered at ${url}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function rssMb(pid: number): Promise<number> {
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round(kb / 102.4) / 10;
}
const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** User plus system CPU time of a process, in milliseconds (clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** An idle Node process that reports its own event-loop lag p99 since the last reading (then resets). */
const CONTROL = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 10 }); h.enable();
require('node:http').createServer((req, res) => { res.end(String(h.percentile(99) / 1e6)); h.reset(); })
  .listen(Number(process.env.CONTROL_PORT), '127.0.0.1');`;

/** prom-client's event-loop lag p99 since the last scrape (it resets its histogram at each collect). */
async function lagP99Ms(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const value = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1]);
  return Math.round(value * 1e5) / 100;
}

/** The wrk script: each request from the next visitor of the fixed set, for one of ARTICLES pages; statuses counted. */
function wrkScript(dir: string, visitors: { name: string; value: string }[]): string {
  const entries = visitors.map((v) => `{${JSON.stringify(v.name)}, ${JSON.stringify(v.value)}}`).join(',\n');
  const file = join(dir, 'soak.lua');
  writeFileSync(
    file,
    `local visitors = {\n${entries}\n}
local threads = {}
function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end
function init(args)
  counter = offset or 0
  non2xx = 0
end
function request()
  counter = counter + 1
  local v = visitors[(counter % #visitors) + 1]
  return wrk.format("GET", "/articles/story-" .. (counter % ${ARTICLES}), { [v[1]] = v[2] })
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local non2xx = 0
  for _, thread in ipairs(threads) do non2xx = non2xx + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format('SOAK_JSON {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p99Us":%.1f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, non2xx, latency:percentile(99)))
end
`,
  );
  return file;
}

async function runWrkChunk(wrk: string, script: string, url: string, durationS: number) {
  const out = await new Promise<string>((resolvePromise, reject) => {
    // wrk's default 2 s timeout counts a slow answer as a socket error; on a loaded machine the first
    // requests (a JWT verified once per token, cold code) can take longer: 10 s.
    const child = spawn(wrk, ['-t1', `-c${CONNECTIONS}`, `-d${durationS}s`, '--timeout', '10s', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolvePromise(stdout) : reject(new Error(`wrk exited ${code}: ${stdout}`))));
  });
  const line = out.split('\n').find((l) => l.startsWith('SOAK_JSON '));
  if (!line) throw new Error(`soak: wrk printed no summary:\n${out}`);
  return JSON.parse(line.slice('SOAK_JSON '.length)) as { requests: number; durationUs: number; errors: number; non2xx: number; p99Us: number };
}

function flat(label: string, samples: number[], absoluteMs = 0): { label: string; first: number; last: number; change: number; ok: boolean } {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = median(samples.slice(0, third));
  const last = median(samples.slice(-third));
  const change = first === 0 ? 0 : (last - first) / first;
  const round = (n: number) => Math.round(n * 100) / 100;
  return { label, first: round(first), last: round(last), change, ok: last <= first * 1.1 || last - first <= absoluteMs };
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('soak: run `npm run build` first (`npm run soak` does)');
  const wrk = await ensureWrk();
  const dir = mkdtempSync(join(tmpdir(), 'plangate-soak-'));
  const started = Date.now();

  const redis = await startRedisServer();
  const controlPort = await freePort();
  startChild('control', ['-e', CONTROL], { CONTROL_PORT: String(controlPort) });
  const controlLag = async () => Math.round(Number(await (await fetch(`http://127.0.0.1:${controlPort}/`)).text()) * 100) / 100;
  const upstreamPort = await freePort();
  startChild('upstream', ['--import', 'tsx', 'bench/upstream.ts'], { BENCH_PORT: String(upstreamPort) });
  await waitFor(`http://127.0.0.1:${upstreamPort}/`);

  // The fixed visitor set: half signed-in readers (one RS256 token each), half anonymous (a signed cookie each).
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys/soak.pub.pem'), await exportSPKI(publicKey));
  const anonymousKey = { id: 'soak', secret: randomBytes(48).toString('base64') };
  const anonymousIds = new AnonymousIds([anonymousKey]);
  const visitors: { name: string; value: string }[] = [];
  for (let i = 0; i < VISITORS; i++) {
    if (i % 2 === 0) {
      const token = await new SignJWT({ tier: i % 4 === 0 ? 'pro' : 'basic' })
        .setProtectedHeader({ alg: 'RS256' })
        .setSubject(`soak-reader-${i}`)
        .setExpirationTime('1d')
        .sign(privateKey);
      visitors.push({ name: 'Authorization', value: `Bearer ${token}` });
    } else {
      visitors.push({ name: 'Cookie', value: `plangate_anon=${anonymousIds.sign(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)}` });
    }
  }

  const [port, opsPort] = [await freePort(), await freePort()];
  const month = { period: 'month' };
  const config = {
    version: 1,
    anonymousIds: { keys: [anonymousKey] },
    jwt: { integrations: [{ name: 'Soak JWT', algorithms: ['RS256'], publicKeyFile: 'keys/soak.pub.pem', claimKey: 'sub' }] },
    features: { article: { properties: { premium: { type: 'boolean' } } } },
    // Limits the run never reaches: every request consumes a unit and is forwarded (2xx throughout).
    plans: {
      anonymous: { assign: 'anonymous', features: { article: { enabled: { limit: 1_000_000_000, ...month } } } },
      registered: { assign: 'authenticated', features: { article: { enabled: { limit: 1_000_000_000, ...month } } } },
      pro: { features: { article: { enabled: { limit: 1_000_000_000_000, ...month }, premium: true } } },
    },
    provisioning: { rules: [{ claim: 'tier', equals: 'pro', plans: ['pro'] }] },
    surfaces: { 'article-page': {} },
    store: { redis: { url: redis.url, keyPrefix: 'plangate-soak:' } },
    server: { ops: { host: '127.0.0.1', port: opsPort } },
    gateway: {
      upstream: `http://127.0.0.1:${upstreamPort}`,
      listen: { host: '127.0.0.1', port },
      signing: { keys: [{ id: 'soak', secret: randomBytes(32).toString('base64') }] },
      routes: [
        { path: '/articles/**', surface: 'article-page', consume: ['article.enabled'] },
        { path: '/**', bypass: true },
      ],
    },
  };
  const configFile = join(dir, 'plangate.yaml');
  writeFileSync(configFile, stringify(config));
  const gateway = startChild('gateway', ['dist/cli/main.js', 'gateway', '--config', configFile, '--no-watch'], { PLANGATE_LOG_LEVEL: 'info' });
  const metricsUrl = `http://127.0.0.1:${opsPort}/metrics`;
  await waitFor(`http://127.0.0.1:${opsPort}/readyz`);
  const pid = gateway.pid!;
  const redisClient = new Redis(redis.url);
  const redisMemory = async () => {
    const info = await redisClient.info('memory');
    return { mb: Math.round(Number(/^used_memory:(\d+)/m.exec(info)?.[1]) / 104857.6) / 10, keys: await redisClient.dbsize() };
  };
  await new Promise((r) => setTimeout(r, 1000));
  const baseline = { fds: openFds(pid), rssMb: await rssMb(pid) };
  await lagP99Ms(metricsUrl); // resets the lag histogram: the first chunk's reading covers that chunk only
  await controlLag();
  let cpuBefore = await cpuMs(pid);
  console.log(
    `soak: gateway pid ${pid}, ${VISITORS} visitors, ${TOTAL.toLocaleString('en-US')} requests, baseline ${baseline.fds} fds, RSS ${baseline.rssMb} MB`,
  );

  const script = wrkScript(dir, visitors);
  const url = `http://127.0.0.1:${port}/`;
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  let lastRps = 3000;
  const samples: Sample[] = [];
  while (requests < TOTAL) {
    const goal = requests < WARMUP ? WARMUP : TOTAL;
    const durationS = Math.max(1, Math.min(CHUNK_S, Math.ceil((goal - requests) / lastRps)));
    const chunk = await runWrkChunk(wrk, script, url, durationS);
    requests += chunk.requests;
    errors += chunk.errors;
    non2xx += chunk.non2xx;
    lastRps = chunk.requests / (chunk.durationUs / 1e6);
    const memory = await redisMemory();
    const cpuNow = await cpuMs(pid);
    const sample: Sample = {
      requests,
      rssMb: await rssMb(pid),
      fds: openFds(pid),
      cpuUsPerRequest: Math.round(((cpuNow - cpuBefore) * 1000) / chunk.requests),
      lagP99Ms: await lagP99Ms(metricsUrl),
      controlLagP99Ms: await controlLag(),
      redisMb: memory.mb,
      redisKeys: memory.keys,
      rps: Math.round(lastRps),
    };
    cpuBefore = cpuNow;
    samples.push(sample);
    console.log(
      `  ${requests.toLocaleString('en-US').padStart(9)} requests  ${String(sample.rps).padStart(5)} req/s  RSS ${sample.rssMb} MB  fds ${sample.fds}  ` +
        `CPU ${sample.cpuUsPerRequest} µs/req  lag p99 ${sample.lagP99Ms} ms (idle control ${sample.controlLagP99Ms})  Redis ${sample.redisMb} MB, ${sample.redisKeys} keys${requests <= WARMUP ? '  (warm-up)' : ''}` +
        (chunk.errors || chunk.non2xx ? `  ERRORS ${chunk.errors} socket, ${chunk.non2xx} non-2xx` : ''),
    );
  }

  // wrk has closed its connections; the gateway's idle upstream connections close after undici's keep-alive timeout.
  let fdsAfter = openFds(pid);
  const fdDeadline = Date.now() + 60_000;
  while (fdsAfter > baseline.fds && Date.now() < fdDeadline) {
    await new Promise((r) => setTimeout(r, 1000));
    fdsAfter = openFds(pid);
  }
  const steady = samples.filter((s) => s.requests > WARMUP);
  const checks = [
    flat('RSS (MB)', steady.map((s) => s.rssMb)),
    flat('Redis used_memory (MB)', steady.map((s) => s.redisMb)),
    flat('CPU time per request (µs)', steady.map((s) => s.cpuUsPerRequest)),
    flat('event-loop lag p99 beyond the idle control (ms)', steady.map((s) => Math.round((s.lagP99Ms - s.controlLagP99Ms) * 100) / 100), 1),
  ];
  const lag = flat('event-loop lag p99, as measured (ms)', steady.map((s) => s.lagP99Ms));
  const control = flat('idle control process lag p99 (ms)', steady.map((s) => s.controlLagP99Ms));
  const result = {
    when: new Date(started).toISOString(),
    minutes: Math.round((Date.now() - started) / 600) / 100,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    requests,
    visitors: VISITORS,
    warmupRequests: WARMUP,
    connections: CONNECTIONS,
    errors,
    non2xx,
    baseline,
    fdsAfter,
    checks,
    reported: [lag, control],
    samples,
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const out = join(root, 'bench/results', `soak-${result.when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nsoak: ${requests.toLocaleString('en-US')} requests in ${result.minutes} min on ${result.cpu} (${result.cores} cores, load ${result.loadAverageAtEnd.join(' ')})`);
  for (const c of checks)
    console.log(`  ${c.ok ? 'flat' : 'GREW'}  ${c.label}: ${c.first} -> ${c.last} (${(c.change * 100).toFixed(1)} %; medians of the first and last third after warm-up)`);
  for (const c of [lag, control]) console.log(`  (seen)  ${c.label}: ${c.first} -> ${c.last} (${(c.change * 100).toFixed(1)} %)`);
  const fdsOk = fdsAfter <= baseline.fds;
  console.log(`  ${fdsOk ? 'back ' : 'LEAK '}  open fds: ${baseline.fds} before, ${fdsAfter} after`);
  console.log(`  ${errors === 0 && non2xx === 0 ? 'clean' : 'FAIL '}  ${errors} socket errors, ${non2xx} non-2xx`);
  console.log(`  results: ${out}`);
  await redisClient.quit();
  stopAll();
  await redis.stop();
  process.exitCode = checks.every((c) => c.ok) && fdsOk && errors === 0 && non2xx === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  stopAll();
  process.exit(1);
});
