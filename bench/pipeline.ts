// The gateway pipeline's own cost, in process and without sockets: `createPipeline(...).run()` for
// a decided request (plangate-anon's config: anonymous cookie, uniqueResources meter, memory store)
// and `engine.decide` alone, in microseconds per call. `npx tsx bench/pipeline.ts`
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { createPipeline } from '../src/gateway/pipeline.js';
import { createLogger } from '../src/ops/logger.js';
import { createRuntime } from '../src/runtime.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const model = await loadConfig(join(ROOT, 'bench/configs/plangate-anon.yaml'));
const runtime = await createRuntime(model, { logger: createLogger({ level: 'silent' }) });
const gateway = model.gateway!;
const pipeline = createPipeline({ model, gateway, engine: runtime.engine, upstreamHost: '127.0.0.1:1', logger: { event() {} } });

const anon = '3f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b';
const rawHeaders = ['Host', 'bench.local', 'User-Agent', 'wrk', 'Cookie', `plangate_anon=${anon}`];
const request = () =>
  ({
    method: 'GET',
    url: '/articles/bench-article',
    headers: { host: 'bench.local', 'user-agent': 'wrk', cookie: `plangate_anon=${anon}` },
    rawHeaders,
    socket: { remoteAddress: '127.0.0.1' },
  }) as unknown as IncomingMessage;

async function measure(name: string, fn: () => Promise<unknown>, count = 50_000): Promise<void> {
  for (let i = 0; i < 5_000; i++) await fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn();
  console.log(`${name.padEnd(28)} ${(Number(process.hrtime.bigint() - started) / count / 1000).toFixed(1)} µs`);
}

await measure('pipeline.run (decided route)', async () => {
  const verdict = await pipeline.run(request(), { requestId: 'bench', route: '-' });
  if (verdict.kind !== 'forward') throw new Error(`expected a forward verdict, got ${verdict.kind}`);
});
await measure('engine.decide alone', () =>
  runtime.engine.decide({
    surfaceSlug: 'article-page',
    identity: { resolved: { authType: 'anonymous', identifier: anon, isAuthenticated: false, jwtClaims: {} } },
    trusted: false,
    resource: { id: '/articles/bench-article' },
    route: { consume: gateway.compiledRoutes[0].consumeRefs },
  }),
);
await runtime.close();
