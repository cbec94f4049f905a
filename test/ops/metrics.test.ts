// /metrics through the real listener: the text parses as Prometheus exposition format and a known
// sequence of requests is counted exactly (by route and outcome, latencies, JWT rejections); engine
// events are counted by code.
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { rawRequest } from '../gateway/harness.js';
import { sample, startOpsStack, type OpsStack } from './harness.js';

let stack: OpsStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Every non-comment line is `name{labels} value`; every family has HELP and TYPE. */
function expectPrometheusText(text: string): void {
  const families = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        families.add(meta[2]);
      }
      continue;
    }
    expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/);
    const name = line.split(/[{ ]/)[0];
    expect([...families].some((f) => name === f || name.startsWith(`${f}_`))).toBe(true);
  }
}

describe('/metrics', () => {
  it('parses as Prometheus text and counts a known sequence of requests exactly', async () => {
    stack = await startOpsStack('metrics-sequence', { limit: 2 });
    const base = stack.running.gateway.url;

    // One anonymous visitor reads three articles: two forwarded, the third denied (limit 2).
    const first = await fetch(`${base}/articles/a`);
    const anon = first.headers.getSetCookie()[0].split(';')[0];
    await first.text();
    expect((await fetch(`${base}/articles/b`, { headers: { cookie: anon } })).status).toBe(200);
    expect((await fetch(`${base}/articles/c`, { headers: { cookie: anon, accept: 'application/json' } })).status).toBe(402);
    // Two pages on the catch-all, one of them with an expired JWT (degrades to anonymous).
    expect((await fetch(`${base}/about`)).status).toBe(200);
    const expired = await stack.keys.signRsa({ email: 'late@example.com', exp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await fetch(`${base}/contact`, { headers: { cookie: `plangate_jwt=${expired}` } })).status).toBe(200);
    // A path no route may see: rejected before any decision.
    expect((await rawRequest(base, '/articles%2fa')).status).toBe(400);
    // The observer reports when the response closes: give the last one a moment.
    await new Promise((r) => setTimeout(r, 100));

    const res = await fetch(`${stack.running.ops.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expectPrometheusText(text);
    const requests = (route: string, outcome: string) => sample(text, 'plangate_requests_total', { route, outcome });
    expect(requests('/articles/*', 'forwarded')).toBe(2);
    expect(requests('/articles/*', 'denied')).toBe(1);
    expect(requests('/**', 'forwarded')).toBe(2);
    expect(requests('-', 'rejected')).toBe(1);
    expect(sample(text, 'plangate_decision_duration_seconds_count')).toBe(5);
    expect(sample(text, 'plangate_upstream_duration_seconds_count')).toBe(4);
    expect(sample(text, 'plangate_jwt_rejections_total', { reason: 'expired' })).toBe(1);
    expect(sample(text, 'plangate_store_errors_total', { code: 'store-timeout' })).toBe(0);
    expect(sample(text, 'plangate_store_ready')).toBe(1);
    // One store round trip per decision (every route here reads the visitor's metered article counter),
    // plus one per new anonymous id minted (the flood budget): /articles/a, /about, /contact came without a cookie.
    expect(sample(text, 'plangate_store_calls_total')).toBe(5 + 3);
    expect(sample(text, 'plangate_anonymous_ids_refused_total')).toBe(0);
    expect(sample(text, 'plangate_store_memory_used_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});

describe('Metrics.engineEvents', () => {
  it('counts store, workflow and JWT events by code and passes every event on', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const seen: string[] = [];
    const events = metrics.engineEvents({ event: (_level, code) => seen.push(code) });
    events.event('error', 'store-unreachable', { message: 'x' });
    events.event('error', 'store-timeout', {});
    events.event('error', 'store-timeout', {});
    events.event('error', 'workflow-error', { workflow: 'a.ts' });
    events.event('error', 'workflow-timeout', { workflow: 'a.ts' });
    events.event('info', 'jwt-rejected', { reason: 'bad-signature' });
    events.event('info', 'jwt-fallback-anonymous', { reason: 'bad-signature' });
    events.event('warn', 'store-connection-lost', {});
    const text = await metrics.text();
    expect(sample(text, 'plangate_store_errors_total', { code: 'store-unreachable' })).toBe(1);
    expect(sample(text, 'plangate_store_errors_total', { code: 'store-timeout' })).toBe(2);
    expect(sample(text, 'plangate_store_errors_total', { code: 'store-error' })).toBe(0);
    expect(sample(text, 'plangate_workflow_errors_total', { code: 'workflow-error' })).toBe(1);
    expect(sample(text, 'plangate_workflow_errors_total', { code: 'workflow-timeout' })).toBe(1);
    expect(sample(text, 'plangate_jwt_rejections_total', { reason: 'bad-signature' })).toBe(1);
    expect(seen).toHaveLength(8);
  });
});
