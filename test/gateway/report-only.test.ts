// Report-only rollout (`enforce: false`, globally or per route) through the real listener, engine
// and Redis: every request is decided and forwarded with the decision headers; what would have been
// denied is told to the upstream, logged (`would-deny`) and counted per route and feature
// (`plangate_would_deny_total`), and nothing is blocked or consumed — also under a burst of 400
// concurrent requests from one visitor, after which that visitor still has every free read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../src/gateway/listener.js';
import { Metrics } from '../../src/ops/metrics.js';
import type { Runtime } from '../../src/ops/runtime.js';
import {
  cookieFrom,
  loadTestRuntime,
  recordingLogger,
  startUpstream,
  testKeys,
  writeConfig,
  type Keys,
  type RecordingLogger,
  type Upstream,
  TEST_JWT_YAML,
} from './harness.js';

const CONFIG = `${TEST_JWT_YAML}features:
  articles: { name: Articles }
  premium: { name: Premium }
plans:
  anonymous:
    assign: anonymous
    features: { articles: { enabled: { limit: 3, period: month, uniqueResources: true } } }
  premium:
    features: { articles: { enabled: on }, premium: { enabled: on } }
provisioning:
  rules: [{ claim: premium, equals: true, plans: [premium] }]
surfaces:
  article: {}
  premium: {}
  answered: { workflow: answered.ts }
  site: {}
store:
  redis:
    url: \${REDIS_URL}
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  enforce: false
  routes:
    - path: /articles/**
      surface: article
      consume: [articles.enabled]
    - path: /metered/**
      surface: article
      consume: [articles.enabled]
      enforce: true
    - path: /premium/**
      surface: premium
      require: premium.enabled
    - path: /enforced/**
      surface: premium
      require: premium.enabled
      enforce: true
    - path: /answered/**
      surface: answered
    - path: /**
      surface: site
`;

// A workflow that would answer by itself (a block): report-only forwards anyway.
const ANSWERED = `export default async () => ({ http: { status: 451, body: 'blocked by the workflow' } });`;

describe('enforce: false', () => {
  let upstream: Upstream;
  let runtime: Runtime;
  let gateway: RunningGateway;
  let keys: Keys;
  let logger: RecordingLogger;
  let metrics: Metrics;
  let url: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    keys = await testKeys();
    runtime = await loadTestRuntime(writeConfig(CONFIG, { 'answered.ts': ANSWERED }), 'report-only', {
      PLANGATE_UPSTREAM: upstream.url,
      PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile,
    });
    logger = recordingLogger();
    metrics = new Metrics({ defaultMetrics: false });
    gateway = await startGateway({ model: runtime.model, engine: runtime.engine, logger, observer: metrics, listen: { host: '127.0.0.1', port: 0 } });
    url = gateway.url;
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    await runtime?.close();
  });

  const seen = (target: string) => upstream.seen.filter((s) => s.target === target);
  const wouldDeny = async (route: string, feature: string, reason: string): Promise<number> => {
    const line = (await metrics.text())
      .split('\n')
      .find((l) => l.startsWith(`plangate_would_deny_total{route="${route}",feature="${feature}",reason="${reason}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  async function newVisitor(): Promise<string> {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    return cookieFrom(res.headers.getSetCookie(), 'plangate_anon')!;
  }

  it('forwards a request that would be denied, tells the upstream, logs and counts it', async () => {
    const cookie = await newVisitor();
    const res = await fetch(`${url}/premium/report`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const [forwarded] = seen('/premium/report');
    expect(forwarded.headers['x-plangate-report-only']).toBe('1');
    expect(forwarded.headers['x-plangate-would-deny']).toBe('requirement');
    expect(forwarded.headers['x-plangate-plans']).toBe('anonymous');
    expect(forwarded.headers['x-plangate-denied']).toBeUndefined();
    const event = logger.events.find((e) => e.code === 'would-deny');
    expect(event).toMatchObject({ level: 'info', fields: { route: '/premium/**', feature: 'premium', reason: 'requirement' } });
    expect(await wouldDeny('/premium/**', 'premium', 'requirement')).toBe(1);
    // A premium reader would not be denied: nothing counted, no would-deny header.
    const token = await keys.sign({ email: 'p@example.com', premium: true });
    expect((await fetch(`${url}/premium/other`, { headers: { cookie: `plangate_jwt=${token}` } })).status).toBe(200);
    expect(seen('/premium/other')[0].headers['x-plangate-would-deny']).toBeUndefined();
    expect(await wouldDeny('/premium/**', 'premium', 'requirement')).toBe(1);
  });

  it('still enforces a route with enforce: true', async () => {
    const cookie = await newVisitor();
    const res = await fetch(`${url}/enforced/report`, { headers: { cookie, accept: 'application/json' } });
    expect(res.status).toBe(402);
    expect(seen('/enforced/report')).toHaveLength(0);
  });

  it("forwards what a workflow's http would have answered itself", async () => {
    const res = await fetch(`${url}/answered/x`);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain('blocked by the workflow');
    expect(seen('/answered/x')).toHaveLength(1);
  });

  it('counts a used-up allowance as "would deny: consumption" without consuming or blocking', async () => {
    const cookie = await newVisitor();
    // Three reads on the enforcing route use the visitor's allowance up.
    for (const slug of ['a', 'b', 'c']) expect((await fetch(`${url}/metered/${slug}`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${url}/metered/d`, { headers: { cookie } })).status).toBe(402);
    const res = await fetch(`${url}/articles/d`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(seen('/articles/d')[0].headers['x-plangate-would-deny']).toBe('consumption');
    expect(await wouldDeny('/articles/**', 'articles', 'consumption')).toBe(1);
  });

  it('a burst of 400 concurrent requests from one visitor: none blocked, nothing consumed', async () => {
    const cookie = await newVisitor();
    const before = upstream.seen.length;
    const countedBefore = await wouldDeny('/premium/**', 'premium', 'requirement');
    const targets = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? `/articles/burst-${i}` : `/premium/burst-${i}`));
    const statuses = await Promise.all(targets.map((t) => fetch(`${url}${t}`, { headers: { cookie } }).then(async (r) => (await r.arrayBuffer(), r.status))));
    expect(statuses.filter((s) => s === 200)).toHaveLength(400);
    expect(upstream.seen.length - before).toBe(400);
    expect(await wouldDeny('/premium/**', 'premium', 'requirement')).toBe(countedBefore + 200);
    // Every article read was free to report on: the headers say 3 left, each time.
    const articleHeaders = targets.filter((t) => t.startsWith('/articles/')).map((t) => seen(t)[0].headers['x-plangate-articles--enabled']);
    expect(new Set(articleHeaders)).toEqual(new Set(['access=1; remaining=2; limit=3']));
    // And the visitor's allowance is untouched: three reads where it is enforced, then the paywall.
    for (const slug of ['x', 'y', 'z']) expect((await fetch(`${url}/metered/${slug}`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${url}/metered/w`, { headers: { cookie } })).status).toBe(402);
  }, 60_000);

  it('does not refuse a prefetch of a report-only route (nothing is consumed)', async () => {
    const cookie = await newVisitor();
    const res = await fetch(`${url}/articles/prefetched`, { headers: { cookie, 'sec-purpose': 'prefetch' } });
    expect(res.status).toBe(200);
    expect((await fetch(`${url}/metered/prefetched`, { headers: { cookie, 'sec-purpose': 'prefetch' } })).status).toBe(503);
  });
});
