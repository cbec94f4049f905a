// The observer hook: exactly one summary per request, whatever its fate (forwarded, denied,
// answered, rejected, upstream failure), carrying the id the upstream received and never a token
// or cookie value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../src/gateway/listener.js';
import type { RequestSummary } from '../../src/gateway/observer.js';
import { behaveConfig } from './behave-config.js';
import { rawRequest, startStack, type Stack } from './harness.js';

let stack: Stack;
let gateway: RunningGateway;
const summaries: RequestSummary[] = [];

beforeAll(async () => {
  stack = await startStack(behaveConfig('', '', 5_000), 'gw-observer');
  gateway = await startGateway({ model: stack.runtime.model, engine: stack.runtime.engine, logger: stack.logger, observer: { requestDone: (s) => summaries.push(s) }, listen: { host: '127.0.0.1', port: 0 } });
});
afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

/** Waits for the summaries of `n` more requests (a summary is emitted when the response closes). */
async function summariesOf(n: number, run: () => Promise<unknown>): Promise<RequestSummary[]> {
  const from = summaries.length;
  await run();
  for (let i = 0; i < 400 && summaries.length < from + n; i++) await new Promise((r) => setTimeout(r, 5));
  return summaries.slice(from);
}

describe('request summaries', () => {
  it('one per request, with the request id the upstream got, route, identity, plans and timings', async () => {
    const token = await stack.keys.sign({ sub: 'reader-42' });
    const [forwarded] = await summariesOf(1, () => fetch(`${gateway.url}/articles/one`, { headers: { authorization: `Bearer ${token}`, cookie: 'plangate_anon=0b6f2c36-5c1e-4d55-9a0e-2f1a7c3e9b10' } }).then((r) => r.text()));
    const seen = stack.upstream.seen.findLast((s) => s.target === '/articles/one')!;
    expect(forwarded).toMatchObject({ requestId: seen.headers['x-plangate-request-id'], method: 'GET', route: '/**', surface: 'behave', identityType: 'jwt', plans: ['members'], outcome: 'forwarded', status: 200, completed: true, degraded: false });
    expect(forwarded.decisionMs).toBeGreaterThan(0);
    expect(forwarded.upstreamMs).toBeGreaterThan(0);
    expect(forwarded.totalMs).toBeGreaterThanOrEqual(forwarded.upstreamMs!);
    const text = JSON.stringify(forwarded);
    expect(text).not.toContain(token);
    expect(text).not.toContain('0b6f2c36-5c1e-4d55-9a0e-2f1a7c3e9b10');
    expect(text).not.toContain('reader-42'); // the identifier stays out of the summary too
  });

  it('denied, forwarded-denied, answered by the workflow, rejected path, upstream failure: one summary each', async () => {
    stack.upstream.handlers.set('/broken', (_req, res) => {
      res.socket?.destroy();
      return true;
    });
    const got = await summariesOf(5, async () => {
      await fetch(`${gateway.url}/members/x`, { redirect: 'manual' }).then((r) => r.text());
      await fetch(`${gateway.url}/forward-denied/x`).then((r) => r.text());
      await fetch(`${gateway.url}/replace`).then((r) => r.text());
      await rawRequest(gateway.url, '/a/%2f/b');
      await fetch(`${gateway.url}/broken`).then((r) => r.text());
    });
    expect(got.map((s) => [s.route, s.outcome, s.status])).toEqual([
      ['/members/**', 'denied', 302],
      ['/forward-denied/**', 'denied', 200],
      ['/**', 'answered', 451],
      ['-', 'rejected', 400],
      ['/**', 'forwarded', 502],
    ]);
    expect(new Set(got.map((s) => s.requestId)).size).toBe(5);
  });

  it('without an observer, the summary goes to the logger as `request`', async () => {
    const before = stack.logger.events.length;
    await fetch(`${stack.gateway.url}/logged`).then((r) => r.text());
    for (let i = 0; i < 400 && !stack.logger.events.slice(before).some((e) => e.code === 'request'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(stack.logger.events.slice(before).find((e) => e.code === 'request')?.fields).toMatchObject({ route: '/**', outcome: 'forwarded', status: 200 });
  });
});
