// Load shedding at the gateway (issue 13): beyond server.maxPendingDecisions a request is answered
// 503 with Retry-After and `Cache-Control: no-store` before any meter is read or recorded, the
// upstream never sees it, and /metrics and the log say so. Every unit recorded is a grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBurst, type BurstRequest } from '../support/burst.js';
import { sample, startOpsStack, type OpsStack } from './harness.js';

const LIMIT = 3;
const MAX_PENDING = 40;
let stack: OpsStack;
beforeAll(async () => {
  stack = await startOpsStack('shed-gateway', { limit: LIMIT, maxPendingDecisions: MAX_PENDING });
});
afterAll(() => stack.close());

describe('beyond server.maxPendingDecisions', () => {
  it('400 requests at once: the excess gets 503 + Retry-After, nothing shed reaches upstream or the meters', async () => {
    const base = stack.running.gateway.url;
    // 40 anonymous visitors, each with the cookie the gateway minted for them.
    const cookies: string[] = [];
    for (let i = 0; i < 40; i++) {
      const first = await fetch(`${base}/about`);
      await first.text();
      cookies.push(first.headers.getSetCookie()[0].split(';')[0]);
    }
    const requests: BurstRequest[] = [];
    for (let article = 0; article < 10; article++)
      for (const cookie of cookies) requests.push({ url: `${base}/articles/${article}`, headers: { cookie, accept: 'application/json' } });
    const forwardedBefore = stack.upstream.seen.length;
    const { replies } = await sendBurst(requests);

    const shed = replies.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    for (const reply of shed) {
      expect(reply.headers['retry-after']).toBe('1');
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(reply.body)).toMatchObject({ status: 'error', statusCode: 503, code: 'overloaded' });
    }
    expect(replies.every((r) => [200, 402, 503].includes(r.status))).toBe(true);
    const granted = replies.filter((r) => r.status === 200).length;
    expect(stack.upstream.seen.length - forwardedBefore).toBe(granted);

    // Per visitor: no more than the limit, and the meter holds exactly the grants (read it by
    // asking until denied: each extra grant is a unit the burst left).
    const grants = cookies.map((cookie) => replies.filter((r, i) => r.status === 200 && requests[i].headers!.cookie === cookie).length);
    for (const [v, cookie] of cookies.entries()) {
      expect(grants[v]).toBeLessThanOrEqual(LIMIT);
      let extra = 0;
      while ((await fetch(`${base}/articles/after-${extra}`, { headers: { cookie } }).then((r) => (r.body?.cancel(), r.status))) === 200) extra++;
      expect(grants[v] + extra).toBe(LIMIT);
    }

    await new Promise((r) => setTimeout(r, 100));
    const metrics = await (await fetch(`${stack.running.ops.url}/metrics`)).text();
    expect(sample(metrics, 'plangate_decisions_shed_total')).toBe(shed.length);
    expect(sample(metrics, 'plangate_decisions_pending')).toBe(0);
    expect(sample(metrics, 'plangate_requests_total', { route: '/articles/*', outcome: 'shed' })).toBe(shed.length);
    expect(stack.logLines().some((line) => line.code === 'decision-shed' && line.limit === MAX_PENDING)).toBe(true);
  });
});
