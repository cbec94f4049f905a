// What an operator sees of a known sequence of requests: the access log lines (every field, one
// line per request on the gateway and on the decision API's own port), the request id (a trusted
// proxy's, or minted; returned to the client, sent upstream), and the metrics with exact counts, a
// 5xx from the upstream among them. Then the Grafana dashboard in examples/ is checked against the
// real /metrics output: every metric and label it queries exists.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGateway, type RunningServers } from '../../src/cli/run-gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { closeServer, listen } from '../support/upstream.js';
import { sample, until } from './harness.js';

const API_KEY = 'sk_observability_0123456789';
const PAGE = 'x'.repeat(1000);

const config = (trustProxy: boolean | number) => `version: 1
apiKeys:
  - { key: ${API_KEY}, name: observability }
anonymousIds:
  keys:
    - { id: ${TEST_ANONYMOUS_ID_KEY.id}, secret: ${TEST_ANONYMOUS_ID_KEY.secret} }
jwt:
  integrations:
    - { name: HMAC, algorithms: [HS256], secret: a-jwt-secret-of-at-least-32-bytes-0123456789, claimKey: email }
features:
  articles: { name: Articles }
  premium: { name: Premium }
plans:
  anonymous:
    name: Anonymous
    assign: anonymous
    features:
      articles:
        enabled: { limit: 2, period: month }
surfaces:
  article: {}
  premium: {}
  site: {}
store:
  redis:
    url: \${REDIS_URL}
    keyPrefix: \${KEY_PREFIX}
server:
  api: { host: 127.0.0.1, port: 0 }
  ops: { host: 127.0.0.1, port: 0 }
gateway:
  upstream: \${UPSTREAM}
  listen: { host: 127.0.0.1, port: 0 }
  trustProxy: ${trustProxy}
  routes:
    - path: /static/**
      bypass: true
    - path: /articles/**
      surface: article
      consume: [articles.enabled]
    - path: /premium/**
      surface: premium
      require: premium.enabled
    - path: /**
      surface: site
`;

interface Stack {
  running: RunningServers;
  lines(code?: string): Record<string, unknown>[];
  text(): string;
}

/** What the upstream saw: the request ids it was given. */
const seen: { path: string; requestId: unknown; plangateRequestId: unknown }[] = [];
let upstream: Server;
let upstreamUrl: string;
const stacks: Stack[] = [];

async function startStack(scope: string, trustProxy: boolean | number): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'plangate-observability-'));
  const file = join(dir, 'plangate.yaml');
  writeFileSync(file, config(trustProxy));
  const env = { REDIS_URL: testRedisUrl(), KEY_PREFIX: testKeyPrefix(scope), UPSTREAM: upstreamUrl };
  let text = '';
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void (text += line) } });
  const running = await runGateway({ model: await loadConfig(file, { env }), env, logger, watch: false });
  const stack: Stack = {
    running,
    text: () => text,
    lines: (code) =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => code === undefined || l.code === code),
  };
  stacks.push(stack);
  return stack;
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    seen.push({ path, requestId: req.headers['x-request-id'], plangateRequestId: req.headers['x-plangate-request-id'] });
    if (path.startsWith('/broken')) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('upstream failed');
      return;
    }
    // An upstream that mints its own id: the client still gets plangate's.
    const own = path === '/own-id' ? { 'x-request-id': 'upstream-made-this-up' } : {};
    res.writeHead(200, { 'content-type': 'text/plain', ...own });
    res.end(PAGE);
  });
  upstreamUrl = await listen(upstream);
});

afterAll(async () => {
  for (const stack of stacks) await stack.running.close();
  await closeServer(upstream);
});

/** One request over a fresh connection, read to the end: every byte the client got. */
function rawRequest(url: string, path: string, headers: Record<string, string> = {}): Promise<{ bytes: number; head: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      resolvePromise({ bytes: all.length, head: all.toString('latin1').split('\r\n\r\n')[0] });
    });
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n${extra}\r\n`);
  });
}

describe('observability', () => {
  let stack: Stack;
  let metrics: string;

  it('counts a known sequence of requests exactly, a 5xx from the upstream included', { timeout: 60_000 }, async () => {
    stack = await startStack('observability-trusted', 1);
    const { gateway, ops, api } = stack.running;
    const before = await (await fetch(`${ops.url}/metrics`)).text();
    expect(before).toMatch(/^# TYPE plangate_store_calls_total counter$/m);
    expect(before).toMatch(/^# TYPE plangate_decisions_shed_total counter$/m);
    expect(before).toMatch(/^# TYPE plangate_anonymous_ids_refused_total counter$/m);
    const callsBefore = sample(before, 'plangate_store_calls_total');

    const ua = 'observability-test/1.0 ("quoted")';
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gateway.url}${path}`, { headers: { 'user-agent': ua, ...headers } });
    expect((await get('/static/app.css')).status).toBe(200);
    expect((await get('/static/app.js?v=2')).status).toBe(200);
    const first = await get('/articles/one?token=do-not-log-me', { 'x-forwarded-for': '198.51.100.7', 'x-request-id': 'trace-abc-123' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-request-id')).toBe('trace-abc-123');
    const cookie = first.headers.getSetCookie()[0].split(';')[0];
    expect((await get('/articles/two', { cookie })).status).toBe(200);
    const denied = await get('/articles/three', { cookie });
    expect(denied.status).toBe(402);
    const paywallId = denied.headers.get('x-request-id');
    expect(paywallId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await get('/premium/report', { cookie })).status).toBe(402);
    const broken = await get('/broken/page', { cookie });
    expect(broken.status).toBe(500);
    // A token that fails verification: counted by reason, the visitor goes on anonymous.
    expect((await get('/about', { cookie, authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImFAYi5jIn0.bm90LXRoZS1zaWduYXR1cmU' })).status).toBe(200);
    const own = await get('/own-id', { cookie });
    expect(own.headers.get('x-request-id')).not.toBe('upstream-made-this-up');
    expect((await get('/files/a%2Fb')).status).toBe(400);
    const raw = await rawRequest(gateway.url, '/static/raw.css?secret=also-not-logged', { 'user-agent': ua });
    expect(raw.head).toMatch(/^HTTP\/1.1 200/);

    // The decision API on its own port: a decision, a refused key, no such endpoint.
    const decide = (path: string, key?: string) =>
      fetch(`${api!.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': ua, ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ surfaceSlug: 'site', identity: { createAnonymousIdentifier: true } }),
      });
    const apiAnswer = await decide('/api/v1/surface-decisions', API_KEY);
    expect(apiAnswer.status).toBe(200);
    expect(apiAnswer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await decide('/api/v1/surface-decisions?x=1')).status).toBe(401);
    expect((await decide('/api/v1/nothing-here', API_KEY)).status).toBe(404);

    // Lines are written when the response closes: wait for the last one.
    await until(() => stack.lines('request').length === 11 && stack.lines('api-request').length === 3, 'the log lines');
    metrics = await (await fetch(`${ops.url}/metrics`)).text();
    const count = (labels: Record<string, string>) => sample(metrics, 'plangate_requests_total', labels);
    expect(count({ route: '/static/**', outcome: 'bypassed', status_class: '2xx' })).toBe(3);
    expect(count({ route: '/articles/**', outcome: 'forwarded', status_class: '2xx' })).toBe(2);
    expect(count({ route: '/articles/**', outcome: 'denied', status_class: '4xx' })).toBe(1);
    expect(count({ route: '/premium/**', outcome: 'denied', status_class: '4xx' })).toBe(1);
    expect(count({ route: '/**', outcome: 'forwarded', status_class: '5xx' })).toBe(1);
    expect(count({ route: '/**', outcome: 'forwarded', status_class: '2xx' })).toBe(2);
    expect(count({ route: '-', outcome: 'rejected', status_class: '4xx' })).toBe(1);
    const requestSeries = metrics.split('\n').filter((l) => l.startsWith('plangate_requests_total{'));
    expect(requestSeries.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)).toBe(11);
    expect(sample(metrics, 'plangate_jwt_rejections_total', { reason: 'bad-signature' })).toBe(1);
    expect(sample(metrics, 'plangate_denials_total', { route: '/articles/**', feature: 'articles' })).toBe(1);
    expect(sample(metrics, 'plangate_denials_total', { route: '/premium/**', feature: 'premium' })).toBe(1);
    expect(metrics.split('\n').filter((l) => l.startsWith('plangate_denials_total{'))).toHaveLength(2);
    expect(sample(metrics, 'plangate_api_requests_total', { endpoint: '/api/v1/surface-decisions', status_class: '2xx' })).toBe(1);
    expect(sample(metrics, 'plangate_api_requests_total', { endpoint: '/api/v1/surface-decisions', status_class: '4xx' })).toBe(1);
    expect(sample(metrics, 'plangate_api_requests_total', { endpoint: '-', status_class: '4xx' })).toBe(1);
    // One store call per decision (each reads the visitor's metered article counter: 3 articles, the
    // premium page, 3 pages on /**, the API's decision), plus one for the new anonymous id the
    // gateway minted (the flood budget; the API has none).
    expect(sample(metrics, 'plangate_store_calls_total') - callsBefore).toBe(8 + 1);
    const afterCalls = sample(metrics, 'plangate_store_calls_total');
    expect((await get('/articles/one', { cookie })).status).toBe(402);
    const later = await (await fetch(`${ops.url}/metrics`)).text();
    expect(sample(later, 'plangate_store_calls_total') - afterCalls).toBe(1);
  });

  it('writes one access line per gateway request with every field, the query and the tokens left out', () => {
    const lines = stack.lines('request').slice(0, 11);
    const byPath = (path: string) => lines.find((l) => l.path === path)!;
    const ua = 'observability-test/1.0 ("quoted")';
    const first = byPath('/articles/one');
    expect(first).toMatchObject({
      level: 30,
      service: 'plangate',
      code: 'request',
      requestId: 'trace-abc-123',
      method: 'GET',
      path: '/articles/one',
      route: '/articles/**',
      surface: 'article',
      client: '198.51.100.7',
      userAgent: ua,
      identityType: 'anonymous',
      plans: ['anonymous'],
      outcome: 'forwarded',
      status: 200,
      completed: true,
    });
    expect(first.bytes).toBeGreaterThan(PAGE.length);
    expect(typeof first.totalMs).toBe('number');
    expect(typeof first.decisionMs).toBe('number');
    expect(typeof first.upstreamMs).toBe('number');
    expect(byPath('/articles/three')).toMatchObject({ outcome: 'denied', deniedFeature: 'articles', status: 402, client: '127.0.0.1' });
    expect(byPath('/premium/report')).toMatchObject({ outcome: 'denied', deniedFeature: 'premium', status: 402 });
    expect(byPath('/broken/page')).toMatchObject({ outcome: 'forwarded', status: 500, route: '/**' });
    expect(byPath('/files/a%2Fb')).toMatchObject({ outcome: 'rejected', status: 400, route: '-', client: '127.0.0.1' });
    expect(byPath('/static/app.js')).toMatchObject({ outcome: 'bypassed', status: 200, userAgent: ua });

    // The query is not logged, nor are the cookie values.
    expect(stack.text()).not.toContain('do-not-log-me');
    expect(stack.text()).not.toContain('also-not-logged');
    expect(stack.text()).not.toContain('token=');

    // Request ids: each line's id is the one the upstream got (twice) and the client got back.
    for (const line of lines.filter((l) => l.outcome === 'forwarded' || l.outcome === 'bypassed')) {
      const upstreamSaw = seen.find((s) => s.plangateRequestId === line.requestId);
      expect(upstreamSaw, `the upstream got ${String(line.requestId)}`).toBeDefined();
      expect(upstreamSaw!.requestId).toBe(line.requestId);
    }
    expect(new Set(lines.map((l) => l.requestId)).size).toBe(11);
    expect(stack.text()).not.toContain('bm90LXRoZS1zaWduYXR1cmU');
  });

  it('counts the bytes the client got, head included', async () => {
    const raw = await rawRequest(stack.running.gateway.url, '/static/bytes.css');
    await until(() => stack.lines('request').some((l) => l.path === '/static/bytes.css'), 'the log line');
    const line = stack.lines('request').find((l) => l.path === '/static/bytes.css')!;
    expect(line.bytes).toBe(raw.bytes);
    const earlier = stack.lines('request').find((l) => l.path === '/static/raw.css')!;
    expect(earlier.bytes).toBeGreaterThan(PAGE.length);
  });

  it('logs one line per decision API request on its own port', () => {
    const lines = stack.lines('api-request');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => [l.endpoint, l.status])).toEqual([
      ['/api/v1/surface-decisions', 200],
      ['/api/v1/surface-decisions', 401],
      ['-', 404],
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ level: 30, method: 'POST', client: '127.0.0.1', userAgent: 'observability-test/1.0 ("quoted")', completed: true });
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(line.bytes).toBeGreaterThan(0);
      expect(typeof line.totalMs).toBe('number');
    }
    expect(lines[1].path).toBe('/api/v1/surface-decisions');
    expect(stack.text()).not.toContain(API_KEY);
  });

  it('ignores X-Request-Id and X-Forwarded-For from a peer it does not trust', { timeout: 30_000 }, async () => {
    const untrusted = await startStack('observability-untrusted', false);
    const answer = await fetch(`${untrusted.running.gateway.url}/static/a.css`, { headers: { 'x-request-id': 'forged-id', 'x-forwarded-for': '198.51.100.7' } });
    const id = answer.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // A trusted peer's id must still look like an id: one with a space is replaced.
    const odd = await fetch(`${stack.running.gateway.url}/static/b.css`, { headers: { 'x-request-id': 'two words' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => untrusted.lines('request').length === 1, 'the log line');
    expect(untrusted.lines('request')[0]).toMatchObject({ requestId: id, client: '127.0.0.1' });
    expect(seen.find((s) => s.plangateRequestId === id)?.requestId).toBe(id);
  });

  it('the Grafana dashboard queries only metrics and labels /metrics has', async () => {
    const dashboard = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../examples/grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exposed = new Map<string, Set<string>>();
    for (const line of metrics.split('\n')) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
      if (!match) continue;
      const labels = exposed.get(match[1]) ?? new Set<string>();
      for (const [, name] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(name);
      exposed.set(match[1], labels);
    }
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThanOrEqual(15);
    const used = new Set<string>();
    for (const { title, expr } of exprs) {
      const names = [...expr.matchAll(/\b((?:plangate|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]);
      expect(names.length, `${title}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        used.add(name);
        expect(exposed.has(name), `${title}: ${name} is not on /metrics`).toBe(true);
      }
      // Labels named in matchers and in by (...) exist on the metrics of the expression.
      const labels = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1].matchAll(/([a-z_]+)\s*[!=]~?/g)].map((x) => x[1]));
      labels.push(...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((x) => x.trim())));
      for (const label of labels) expect(names.some((n) => exposed.get(n)!.has(label)), `${title}: no metric of ${expr} has the label ${label}`).toBe(true);
    }
    // It covers what this work added.
    for (const name of ['plangate_requests_total', 'plangate_denials_total', 'plangate_store_calls_total', 'plangate_api_requests_total']) expect(used).toContain(name);
  });
});
