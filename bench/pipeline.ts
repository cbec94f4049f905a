// The gateway pipeline's own cost, in process and without sockets, in microseconds per call:
// - `createPipeline(...).run()` for a decided request on plangate-anon's config (anonymous cookie,
//   uniqueResources meter, memory store), and `engine.decide` alone;
// - the same for plangate-full's config with the in-memory store (a cached RS256 JWT, provisioning,
//   a consume), plus the response head the gateway writes (`shapeHead`);
// - with `--redis`, plangate-full's config on its Redis store (a private redis-server): 32 decisions
//   in flight at a time, as wrk -c32 keeps them, reported as the process's CPU time (user + system,
//   the client's socket work included) per decision. The closest in-process view of what a
//   plangate-full request costs beyond the proxying.
// `npx tsx bench/pipeline.ts` (through tsx, which adds 20–30 % over the build: compare runs of this file with each other).
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { AnonymousIds } from '../src/engine/identity/anonymous-ids.js';
import { createPipeline } from '../src/gateway/pipeline.js';
import { createLogger } from '../src/ops/logger.js';
import { createRuntime } from '../src/ops/runtime.js';
import { benchJwt } from './candidates/plangate.js';
import { startRedisServer } from '../test/support/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const silent = { event() {} };
const KEY = { id: 'bench', secret: 'the-pipeline-bench-anonymous-id-secret' };

async function measure(name: string, fn: () => Promise<unknown>, count = 50_000): Promise<void> {
  for (let i = 0; i < 5_000; i++) await fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn();
  console.log(`${name.padEnd(44)} ${(Number(process.hrtime.bigint() - started) / count / 1000).toFixed(1)} µs`);
}

function request(url: string, headers: Record<string, string>): IncomingMessage {
  const rawHeaders = Object.entries(headers).flat();
  return { method: 'GET', url, headers: { ...headers }, rawHeaders, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

/** `count` calls of `fn`, `inFlight` at a time; CPU µs (user + system) per call, after a warm-up. */
async function measureConcurrent(name: string, fn: () => Promise<unknown>, count = 200_000, inFlight = 32): Promise<void> {
  const batch = async (n: number) => {
    let left = n;
    const worker = async () => {
      while (left-- > 0) await fn();
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  };
  await batch(20_000);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await batch(count);
  const used = process.cpuUsage(cpu);
  const wallUs = Number(process.hrtime.bigint() - started) / 1000;
  console.log(`${name.padEnd(44)} ${((used.user + used.system) / count).toFixed(1)} µs CPU (${(used.system / count).toFixed(1)} system), ${Math.round((count / wallUs) * 1e6)} calls/s`);
}

const withRedis = process.argv.includes('--redis');

// ---- plangate-anon ------------------------------------------------------------------------------
{
  const model = await loadConfig(join(ROOT, 'bench/configs/plangate-anon.yaml'), { devAnonymousIdKey: KEY });
  const runtime = await createRuntime(model, { logger: createLogger({ level: 'silent' }) });
  const gateway = model.gateway!;
  const pipeline = createPipeline({ gateway, engine: runtime.engine, upstreamHost: '127.0.0.1:1', logger: silent });
  const anon = '3f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b';
  const headers = { host: 'bench.local', 'user-agent': 'wrk', cookie: `plangate_anon=${new AnonymousIds([KEY]).sign(anon)}` };
  await measure('plangate-anon: pipeline.run (decided route)', async () => {
    const verdict = await pipeline.run(request('/articles/bench-article', headers), { requestId: 'bench', route: '-' });
    if (verdict.kind !== 'forward') throw new Error(`expected a forward verdict, got ${verdict.kind}`);
  });
  await measure('plangate-anon: engine.decide alone', () =>
    runtime.engine.decide({
      surfaceSlug: 'article-page',
      identity: { resolved: { authType: 'anonymous', identifier: anon, isAuthenticated: false, jwtClaims: {} } },
      trusted: false,
      resource: { id: '/articles/bench-article' },
      route: { consume: gateway.routes[0].consumeRefs },
    }),
  );
  await runtime.close();
}

// ---- plangate-full, in-memory store -------------------------------------------------------------
{
  const dir = mkdtempSync(join(tmpdir(), 'plangate-pipeline-bench-'));
  try {
    const { token, publicPem } = await benchJwt();
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys/bench-jwt.pub.pem'), publicPem);
    const config = parse(readFileSync(join(ROOT, 'bench/configs/plangate-full.yaml'), 'utf8')) as Record<string, unknown>;
    const redis = withRedis ? await startRedisServer() : undefined;
    // in-memory: this measures the JavaScript, not a Redis round trip; with --redis, both
    if (redis === undefined) delete config.store;
    else (config.store as { redis: { url: string } }).redis.url = redis.url;
    writeFileSync(join(dir, 'plangate.yaml'), stringify(config));
    const model = await loadConfig(join(dir, 'plangate.yaml'), { devAnonymousIdKey: KEY });
    const runtime = await createRuntime(model, { logger: createLogger({ level: 'silent' }) });
    const pipeline = createPipeline({ gateway: model.gateway!, engine: runtime.engine, upstreamHost: '127.0.0.1:1', logger: silent });
    const headers = { host: 'bench.local', 'user-agent': 'wrk', authorization: `Bearer ${token}` };
    const full = async () => {
      const verdict = await pipeline.run(request('/articles/bench-article', headers), { requestId: 'bench', route: '-' });
      if (verdict.kind !== 'forward') throw new Error(`expected a forward verdict, got ${verdict.kind}`);
      verdict.shapeHead({ status: 200, statusText: 'OK', headers: { 'content-type': 'text/html', 'content-length': '2141' } });
    };
    try {
      if (redis === undefined) await measure('plangate-full (memory): run + response head', full);
      else for (let round = 1; round <= 3; round++) await measureConcurrent(`plangate-full (Redis, 32 in flight) #${round}`, full);
    } finally {
      await runtime.close();
      await redis?.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
