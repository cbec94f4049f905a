// Load shedding at the decision API (issue 13): beyond server.maxPendingDecisions a decision is
// refused with 503 and Retry-After before it reads or records any meter. Never a grant, never the
// failure policy; every unit recorded is a grant the caller saw.
import type { Server } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/api/server.js';
import { sendBurst } from '../support/burst.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { helloWorld, SECRET_KEY, type HelloWorld } from '../support/hello-world.js';

const LIMIT = 40;
let hw: HelloWorld;
let server: Server;
let url: string;
beforeAll(async () => {
  hw = await helloWorld({ REDIS_URL: testRedisUrl(), PLANGATE_REDIS_PREFIX: testKeyPrefix('shed-api') }, { maxPendingDecisions: LIMIT });
  ({ server, url } = await listen(hw.app, '127.0.0.1', 0));
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await hw.runtime.close();
});

const decision = (user: string) => ({
  url: `${url}/api/v1/surface-decisions`,
  method: 'POST',
  headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify({ surfaceSlug: 'hello-world', identity: { userIdentifier: user } }),
});

describe('beyond server.maxPendingDecisions', () => {
  it('400 decisions at once: the excess gets 503 with Retry-After, nothing shed is recorded, nobody gets more than 3', async () => {
    const users = Array.from({ length: 40 }, (_, i) => `shed-${i}-${Date.now()}@example.com`);
    const requests = Array.from({ length: 400 }, (_, i) => decision(users[i % users.length]));
    const { replies } = await sendBurst(requests);

    const shed = replies.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    for (const reply of shed) {
      expect(reply.headers['retry-after']).toBe('1');
      expect(JSON.parse(reply.body)).toEqual({ status: 'error', statusCode: 503, message: expect.stringContaining('retry in 1 s') });
    }
    expect(replies.every((r) => r.status === 200 || r.status === 503)).toBe(true);

    const grants = new Map<string, number>();
    replies.forEach((reply, i) => {
      if (reply.status !== 200) return;
      const body = JSON.parse(reply.body);
      expect(body.degraded).toBeUndefined();
      if (body.surfaceBehavior.properties.widgetAccess === true) grants.set(requests[i].body, (grants.get(requests[i].body) ?? 0) + 1);
    });
    for (const user of users) {
      const granted = grants.get(decision(user).body) ?? 0;
      expect(granted).toBeLessThanOrEqual(3);
      // What the store recorded is exactly what was granted: a shed request consumed nothing.
      const check = await request(hw.app)
        .post('/api/v1/access-checks')
        .set('Authorization', `Bearer ${SECRET_KEY}`)
        .send({ identity: { userIdentifier: user } })
        .expect(200);
      expect(check.body.features.widget.properties.enabled.consumedUnits ?? 0).toBe(granted);
    }
    expect(hw.runtime.load.shed).toBe(shed.length);
    expect(hw.runtime.engine.eventCounts().get('decision-shed')).toBeGreaterThanOrEqual(1);
    expect(hw.runtime.load.pending).toBe(0);
  });
});
