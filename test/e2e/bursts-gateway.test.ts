// Issue 13, bursts through the gateway: `plangate gateway` with a route that declares the consumption
// (one store call per request), visitors identified by JWT, over a healthy Redis. Before the fix
// 1,000 requests at once let most visitors read up to 10 articles of 3.
import { describe } from 'vitest';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { ACCEPTANCE_BURSTS, burstSuite } from './bursts.js';

const store = () => ({ url: testRedisUrl(), redisYaml: `url: "${testRedisUrl()}"` });

describe('gateway, one and two processes', () => {
  burstSuite({ kind: 'gateway-declared', store, keyPrefix: () => testKeyPrefix('burst-gw'), bursts: ACCEPTANCE_BURSTS });
});
