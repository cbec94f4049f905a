// A decision while Redis is down answers with the failure policy, `degraded: true`, a log event and
// a counted failure, within the liveness bound; it recovers without a restart (issue 3).
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloWorld, SECRET_KEY, type HelloWorld } from '../support/hello-world.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

let redis: RedisServerHandle;
let hw: HelloWorld;
beforeAll(async () => {
  redis = await startRedisServer();
  hw = await helloWorld({ REDIS_URL: redis.url, PLANGATE_REDIS_PREFIX: 'outage-test:' });
});
afterAll(async () => {
  await hw.runtime.close();
  await redis.stop();
});

const decide = (identifier: string) =>
  request(hw.app)
    .post('/api/v1/surface-decisions')
    .set('Authorization', `Bearer ${SECRET_KEY}`)
    .send({ surfaceSlug: 'hello-world', identity: { userIdentifier: identifier } });

describe('Redis down under fail-open', () => {
  it('degrades, logs and counts, then recovers when Redis returns', async () => {
    const healthy = await decide('outage@example.com').expect(200);
    expect(healthy.body.degraded).toBeUndefined();
    expect(healthy.body.features.widget.properties.enabled.consumedUnits).toBe(1);

    await redis.stop();
    const started = Date.now();
    const degraded = await decide('outage@example.com').expect(200);
    expect(Date.now() - started).toBeLessThan(2_000); // liveness: 20 x the 80 ms command timeout is 1.6 s
    expect(degraded.body.degraded).toBe(true);
    // The degraded meterable shape: type, counterId, hasAccess by policy, isFallback; no unit fields.
    expect(degraded.body.features.widget.properties.enabled).toEqual({
      type: 'meterable',
      counterId: 'default:feat_widget.enabled',
      hasAccess: true,
      isFallback: false,
    });
    expect(degraded.body.features.widget.properties.premium).toEqual({ type: 'boolean', value: false, isFallback: true });
    expect(degraded.body.surfaceBehavior.properties.widgetAccess).toBe(true);
    const counts = hw.runtime.engine.eventCounts();
    expect([...counts.keys()].some((code) => code.startsWith('store-'))).toBe(true);
    const failures = hw.runtime.store.health.failures();
    expect(Object.values(failures).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    await redis.restart();
    const deadline = Date.now() + 10_000;
    let recovered: request.Response | undefined;
    while (Date.now() < deadline) {
      recovered = await decide('outage@example.com');
      if (recovered.body.degraded !== true) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered?.body.degraded).toBeUndefined();
    // The server restarted empty (no persistence): the counter starts again.
    expect(recovered?.body.features.widget.properties.enabled.consumedUnits).toBe(1);
  });
});

describe('Redis down under fail-closed', () => {
  it('denies metered access with degraded: true', async () => {
    const own = await startRedisServer();
    const closed = await helloWorld({ REDIS_URL: own.url, PLANGATE_REDIS_PREFIX: 'outage-closed:', PLANGATE_FAILURE_POLICY: 'closed' });
    try {
      await own.stop();
      const started = Date.now();
      const res = await request(closed.app)
        .post('/api/v1/surface-decisions')
        .set('Authorization', `Bearer ${SECRET_KEY}`)
        .send({ surfaceSlug: 'hello-world', identity: { userIdentifier: 'closed@example.com' } })
        .expect(200);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(res.body.degraded).toBe(true);
      expect(res.body.features.widget.properties.enabled).toEqual({ type: 'meterable', counterId: 'default:feat_widget.enabled', hasAccess: false, isFallback: false });
      expect(res.body.surfaceBehavior.properties.widgetAccess).toBe(false);
      // `on` is unaffected by the store: an anonymous visitor keeps access.
      const anon = await request(closed.app)
        .post('/api/v1/surface-decisions')
        .set('Authorization', `Bearer ${SECRET_KEY}`)
        .send({ surfaceSlug: 'hello-world', identity: { anonymousIdentifier: 'anon-closed' } })
        .expect(200);
      expect(anon.body.features.widget.properties.enabled.hasAccess).toBe(true);
    } finally {
      await closed.runtime.close();
      await own.stop();
    }
  });
});
