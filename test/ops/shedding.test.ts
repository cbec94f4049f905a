// Load shedding (issue 13): beyond server.maxPendingDecisions a request is answered 503 with
// Retry-After before any meter is read or recorded: never granted, never left to the failure policy,
// never forwarded. The surface workflow waits at a gate the test opens, so exactly
// maxPendingDecisions decisions are in progress while the rest of the burst arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBurst, type BurstReply, type BurstRequest } from '../support/burst.js';
import { sample, SECRET_API_KEY, startOpsStack, type OpsStack } from './harness.js';

const LIMIT = 3;
const MAX_PENDING = 40;
const BURST = 400;

/** Holds every `article` decision in its workflow until the test opens the gate (workflows run in this process). */
const GATED_WORKFLOW = `export default async function article() {
  await globalThis.__plangateShedGate;
  return { properties: {} };
}
`;
const gate = globalThis as { __plangateShedGate?: Promise<void> };

let stack: OpsStack;
beforeAll(async () => {
  stack = await startOpsStack('shed', {
    limit: LIMIT,
    maxPendingDecisions: MAX_PENDING,
    articleWorkflow: GATED_WORKFLOW,
    surfaceConsume: true,
    workflowTimeoutMs: 60_000,
  });
});
afterAll(() => stack.close());

/** Sends the burst with the gate closed, waits until every refused request has its answer, then opens it. */
async function burstAtTheLimit(requests: BurstRequest[]): Promise<{ replies: BurstReply[]; storeCalls: number }> {
  let open!: () => void;
  gate.__plangateShedGate = new Promise<void>((resolve) => (open = resolve));
  const load = stack.running.runtime.load;
  const shedBefore = load.shed;
  const callsBefore = stack.running.runtime.store.health.commandCount;
  const burst = sendBurst(requests);
  await expect.poll(() => load.shed - shedBefore, { timeout: 30_000, interval: 20 }).toBe(BURST - MAX_PENDING);
  expect(load.pending).toBe(MAX_PENDING);
  open();
  const { replies } = await burst;
  return { replies, storeCalls: stack.running.runtime.store.health.commandCount - callsBefore };
}

function expectShedAnswers(replies: BurstReply[]): BurstReply[] {
  const shed = replies.filter((r) => r.status === 503);
  expect(shed).toHaveLength(BURST - MAX_PENDING);
  for (const reply of shed) {
    expect(reply.headers['retry-after']).toBe('1');
    expect(JSON.parse(reply.body)).toMatchObject({ status: 'error', statusCode: 503 });
  }
  return shed;
}

describe('beyond server.maxPendingDecisions', () => {
  it('the gateway: 503 + Retry-After + no-store, nothing read, recorded or forwarded; the admitted are exact', async () => {
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
    const { replies, storeCalls } = await burstAtTheLimit(requests);

    const shed = expectShedAnswers(replies);
    for (const reply of shed) {
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(reply.body).code).toBe('overloaded');
    }
    // One store call per admitted decision; none for a refused one.
    expect(storeCalls).toBe(MAX_PENDING);
    expect(replies.every((r) => [200, 402, 503].includes(r.status))).toBe(true);
    expect(stack.upstream.seen.length - forwardedBefore).toBe(replies.filter((r) => r.status === 200).length);

    // Per visitor: no more than the limit, and the meter holds exactly the grants (read by asking
    // until denied: each extra grant is a unit the burst left).
    for (const cookie of cookies) {
      const granted = replies.filter((r, i) => r.status === 200 && requests[i].headers!.cookie === cookie).length;
      expect(granted).toBeLessThanOrEqual(LIMIT);
      let extra = 0;
      while ((await fetch(`${base}/articles/after-${extra}`, { headers: { cookie } }).then((r) => (r.body?.cancel(), r.status))) === 200) extra++;
      expect(granted + extra).toBe(LIMIT);
    }

    await new Promise((r) => setTimeout(r, 100));
    const metrics = await (await fetch(`${stack.running.ops.url}/metrics`)).text();
    expect(sample(metrics, 'plangate_decisions_shed_total')).toBe(shed.length);
    expect(sample(metrics, 'plangate_decisions_pending')).toBe(0);
    expect(sample(metrics, 'plangate_requests_total', { route: '/articles/*', outcome: 'shed' })).toBe(shed.length);
    expect(stack.logLines().some((line) => line.code === 'decision-shed' && line.limit === MAX_PENDING)).toBe(true);
  });

  it('the decision API: 503 + Retry-After and the JSON error; a refused decision consumes nothing', async () => {
    const api = stack.running.api!.url;
    const users = Array.from({ length: BURST }, (_, i) => `shed-api-${i}-${Date.now()}@example.com`);
    const requests: BurstRequest[] = users.map((user) => ({
      url: `${api}/api/v1/surface-decisions`,
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ surfaceSlug: 'article', identity: { userIdentifier: user } }),
    }));
    const { replies, storeCalls } = await burstAtTheLimit(requests);

    for (const reply of expectShedAnswers(replies)) expect(JSON.parse(reply.body).message).toMatch(/retry in 1 s/);
    expect(storeCalls).toBe(MAX_PENDING);
    const admitted = replies.filter((r) => r.status === 200).map((r) => JSON.parse(r.body));
    expect(admitted).toHaveLength(MAX_PENDING);
    for (const decision of admitted) {
      expect(decision.degraded).toBeUndefined();
      expect(decision.features.articles.properties.enabled).toMatchObject({ consumedInRequest: true, consumedUnits: 1 });
    }
  });
});
