// Starts one redis-server for the whole run unless REDIS_URL names one. Tests read the URL from
// PLANGATE_TEST_REDIS_URL and use a per-run key prefix (PLANGATE_TEST_KEY_PREFIX): nothing they did
// not create is touched, and nothing is flushed.
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';

let own: RedisServerHandle | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.REDIS_URL;
  if (!url) {
    own = await startRedisServer();
    url = own.url;
  }
  const prefix = `plangate-test:${Date.now().toString(36)}-${randomBytes(3).toString('hex')}:`;
  process.env.PLANGATE_TEST_REDIS_URL = url;
  process.env.PLANGATE_TEST_KEY_PREFIX = prefix;
  project.provide('redisUrl', url);
  project.provide('keyPrefix', prefix);
  return async () => {
    await own?.stop();
  };
}
