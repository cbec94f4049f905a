// The Hello World tutorial over HTTP, compared field by field (issue 2, README.md "A 5-minute tour").
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloWorld, SECRET_KEY, SEED_PAYLOAD, type HelloWorld } from '../support/hello-world.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';

const TOP_LEVEL_KEYS = ['status', 'eventId', 'identity', 'customer', 'features', 'surfaceBehavior', 'componentsSkipped', 'componentBehaviors'];
const COUNTER_ID = 'default:feat_widget.enabled';

// The same tutorial on both stores: the in-memory default and a real Redis.
describe.each([
  ['in-memory store', () => ({ REDIS_URL: '' })],
  ['Redis store', () => ({ REDIS_URL: testRedisUrl(), PLANGATE_REDIS_PREFIX: testKeyPrefix('tutorial') })],
])('on the %s', (storeName, storeEnv) => {
  let hw: HelloWorld;
  beforeAll(async () => {
    // Exact counts: a generous command timeout so a busy machine cannot make the store fail open.
    hw = await helloWorld(storeEnv());
    expect(hw.runtime.store.kind).toBe(storeName === 'Redis store' ? 'redis' : 'memory');
  });
  afterAll(async () => {
    await hw.runtime.close();
  });

  function decide(identity: Record<string, unknown>) {
    return request(hw.app)
      .post('/api/v1/surface-decisions')
      .set('Authorization', `Bearer ${SECRET_KEY}`)
      .send({ surfaceSlug: 'hello-world', identity })
      .expect(200)
      .expect('Content-Type', /json/);
  }

  function expectWireShape(body: Record<string, unknown>) {
    for (const key of TOP_LEVEL_KEYS) expect(body).toHaveProperty(key);
    expect(body.status).toBe('success');
    expect(typeof body.eventId).toBe('string');
    expect(typeof body.componentsSkipped).toBe('boolean');
    expect(body.customer).toEqual(
      expect.objectContaining({ isCustomer: expect.any(Boolean), hasProducts: expect.any(Boolean), customerIdentifiers: expect.any(Array) }),
    );
  }

  describe('the Hello World tutorial', () => {
    it('an anonymous decision lists every feature and property, premium as a fallback', async () => {
      const { body } = await decide({ createAnonymousIdentifier: true });
      expectWireShape(body);
      expect(body.identity).toEqual({ authType: 'anonymous', identifier: expect.stringMatching(/^[0-9a-f-]{36}$/), isAuthenticated: false, jwtClaims: {} });
      expect(body.customer).toEqual({ isCustomer: false, hasProducts: false, customerIdentifiers: [] });
      expect(body.features).toEqual({
        widget: {
          featureId: 'feat_widget',
          featureSlug: 'widget',
          properties: {
            enabled: { type: 'meterable', counterId: COUNTER_ID, hasAccess: true, isFallback: false },
            premium: { type: 'boolean', value: false, isFallback: true },
          },
        },
      });
      expect(body.surfaceBehavior).toEqual({
        properties: { userMessage: `Hello, ${body.identity.identifier}`, isAuthenticated: false, widgetAccess: true, premiumWidgets: false },
      });
      expect(body.componentsSkipped).toBe(false);
      expect(body.componentBehaviors).toEqual({});
    });

    it('four decisions for test@example.com use up the 3 lifetime widgets, then the JWT user shares the counter', async () => {
      const user = { userIdentifier: 'test@example.com' };
      const first = (await decide(user)).body;
      expectWireShape(first);
      expect(first.identity).toEqual({ authType: 'provided', identifier: 'test@example.com', isAuthenticated: true, jwtClaims: {} });
      expect(first.features.widget.properties.enabled).toMatchObject({
        type: 'meterable',
        counterId: COUNTER_ID,
        hasAccess: true,
        consumedUnits: 1,
        remainingUnits: 2,
        totalUnits: 3,
        isFallback: false,
      });
      expect(first.surfaceBehavior.properties).toEqual({
        userMessage: 'Hello, test@example.com',
        isAuthenticated: true,
        widgetAccess: true,
        premiumWidgets: false,
        remainingWidgets: 2,
      });

      await decide(user);
      await decide(user);
      const fourth = (await decide(user)).body;
      expectWireShape(fourth);
      expect(fourth.features.widget.properties.enabled).toMatchObject({
        type: 'meterable',
        counterId: COUNTER_ID,
        hasAccess: false,
        consumedUnits: 3,
        remainingUnits: 0,
        totalUnits: 3,
        uniqueResources: false,
        resourceIdUsed: false,
        periodStart: 'Thu, 01 Jan 1970 00:00:00 GMT',
        isFallback: false,
      });
      expect(fourth.surfaceBehavior.properties).toEqual({
        userMessage: 'Hello, test@example.com',
        isAuthenticated: true,
        widgetAccess: false,
        premiumWidgets: false,
        remainingWidgets: 0,
      });

      // Part 4: the seed's JWT payload, signed with the test's key: premium is provisioned.
      const premiumJwt = await hw.sign(SEED_PAYLOAD);
      const premium = (await decide({ userJwt: premiumJwt })).body;
      expectWireShape(premium);
      expect(premium.identity).toEqual({ authType: 'jwt', identifier: 'test@example.com', isAuthenticated: true, jwtClaims: SEED_PAYLOAD });
      expect(Object.keys(premium.identity.jwtClaims)).toEqual(Object.keys(SEED_PAYLOAD));
      expect(premium.customer).toEqual({ isCustomer: true, hasProducts: true, customerIdentifiers: [] });
      expect(premium.features.widget.properties.enabled).toEqual({ type: 'meterable', counterId: COUNTER_ID, hasAccess: true, isFallback: false });
      expect(premium.features.widget.properties.premium).toEqual({ type: 'boolean', value: true, isFallback: false });
      expect(premium.surfaceBehavior.properties).toEqual({
        userMessage: 'Hello, test@example.com',
        isAuthenticated: true,
        widgetAccess: true,
        premiumWidgets: true,
      });

      // The same JWT with premium: false: the shared counter is still used up; the premium decision recorded nothing.
      const plainJwt = await hw.sign({ ...SEED_PAYLOAD, premium: false });
      const plain = (await decide({ userJwt: plainJwt })).body;
      expectWireShape(plain);
      expect(plain.features.widget.properties.enabled).toMatchObject({
        hasAccess: false,
        consumedUnits: 3,
        remainingUnits: 0,
        totalUnits: 3,
        isFallback: false,
      });
      expect(plain.surfaceBehavior.properties.widgetAccess).toBe(false);
    });
  });
});
