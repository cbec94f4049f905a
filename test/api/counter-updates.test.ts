// counter-updates bounds `update` to a documented range (400 naming the field beyond), and a counter
// saturates instead of overflowing, on the in-memory store and on Redis. Before, `update: 1e300` was a
// 200 on memory and a 500 on Redis, and 2^53 - 1 twice was accepted.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_COUNTER_VALUE } from '../../src/engine/meters/store.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { helloWorld, SECRET_KEY, type HelloWorld } from '../support/hello-world.js';

const COUNTER = 'default:feat_widget.enabled';
const RANGE = 'update must be a non-zero integer from -1000000 to 1000000';

describe.each([
  ['memory', () => ({})],
  ['Redis', () => ({ REDIS_URL: testRedisUrl(), PLANGATE_REDIS_PREFIX: testKeyPrefix('counter-updates') })],
])('counter-updates on %s', (_store, env) => {
  let hw: HelloWorld;
  beforeAll(async () => {
    hw = await helloWorld(env());
  });
  afterAll(() => hw?.runtime.close());

  const update = (userIdentifier: string, body: Record<string, unknown>) =>
    request(hw.app)
      .post('/api/v1/counter-updates')
      .set('Authorization', `Bearer ${SECRET_KEY}`)
      .send({ identity: { userIdentifier }, counterId: COUNTER, ...body });
  const consumed = async (userIdentifier: string): Promise<number> =>
    (await request(hw.app).post('/api/v1/access-checks').set('Authorization', `Bearer ${SECRET_KEY}`).send({ identity: { userIdentifier } }).expect(200)).body
      .features.widget.properties.enabled.consumedUnits;

  it.each([
    ['1e300', 1e300],
    ['2^53 - 1', Number.MAX_SAFE_INTEGER],
    ['-(2^53 - 1)', -Number.MAX_SAFE_INTEGER],
    ['1,000,001', 1_000_001],
    ['-1,000,001', -1_000_001],
    ['1.5', 1.5],
    ['0', 0],
    ['a string', '5'],
  ])('update %s is a 400 naming the field, and records nothing', async (_what, value) => {
    const user = `bounds-${randomUUID()}@example.com`;
    for (let i = 0; i < 2; i++) {
      const res = await update(user, { update: value });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ status: 'error', statusCode: 400, message: `invalid request body: ${RANGE}` });
    }
    expect(await consumed(user)).toBe(0);
  });

  it('±1,000,000 are accepted; a decrement stops at 0', async () => {
    const user = `edges-${randomUUID()}@example.com`;
    await update(user, { update: 1_000_000 }).expect(200, { status: 'success' });
    expect(await consumed(user)).toBe(1_000_000);
    await update(user, { update: -1_000_000 }).expect(200);
    await update(user, { update: -1_000_000 }).expect(200);
    expect(await consumed(user)).toBe(0);
  });

  it(`a counter saturates at ${MAX_COUNTER_VALUE} instead of overflowing`, async () => {
    const user = `ceiling-${randomUUID()}@example.com`;
    // Brought near the ceiling through the store itself: a million updates of a million would take too long.
    await hw.runtime.store.run({
      visitor: { userType: 'authenticated', identifier: user },
      now: Date.now(),
      counters: [{ counterId: COUNTER, periods: ['lifetime'] }],
      consume: [{ counterId: COUNTER, units: MAX_COUNTER_VALUE - 5, meter: null }],
      dryRun: false,
    });
    expect(await consumed(user)).toBe(MAX_COUNTER_VALUE - 5);
    await update(user, { update: 1_000_000 }).expect(200);
    await update(user, { update: 1_000_000 }).expect(200);
    expect(await consumed(user)).toBe(MAX_COUNTER_VALUE);
    await update(user, { update: -1 }).expect(200);
    expect(await consumed(user)).toBe(MAX_COUNTER_VALUE - 1);
  });
});
