// Issue 13, bursts through the decision API: `plangate serve` on the hello-world config, whose
// surface workflow calls consume() on every decision (two store calls each), over a healthy Redis.
// Before the fix a burst of 400 degraded almost every decision (store-timeout, a dropped connection,
// workflow-timeout) and granted up to 10 of a limit of 3.
import { describe } from 'vitest';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { ACCEPTANCE_BURSTS, burstSuite } from './bursts.js';

const store = () => ({ url: testRedisUrl(), redisYaml: `url: "${testRedisUrl()}"` });

describe('decision API, one and two processes', () => {
  burstSuite({ kind: 'api-workflow', store, keyPrefix: () => testKeyPrefix('burst-api'), bursts: ACCEPTANCE_BURSTS });
});
