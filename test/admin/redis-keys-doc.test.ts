// docs/redis.md's key recipe finds the real keys: its hash command and its SCAN MATCH pattern, run as
// written (with this test's prefix), list every key the store wrote for a visitor, grants included.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { adminStack, type AdminStack } from './harness.js';

const SCOPE = 'redis-keys-doc';
let stack: AdminStack;
let redis: Redis;
beforeAll(async () => {
  stack = await adminStack('redis', SCOPE);
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await stack?.close();
});

/** The recipe's code block: its node command line and its redis-cli pattern. */
function recipe(): { hashScript: string; pattern: string } {
  const doc = readFileSync('docs/redis.md', 'utf8');
  const block = doc.slice(doc.indexOf('<!-- key-recipe -->')).split('```')[1];
  const hashScript = /node -e '([^']+)'/.exec(block)?.[1];
  const pattern = /--pattern '([^']+)'/.exec(block)?.[1];
  if (hashScript === undefined || pattern === undefined) throw new Error('docs/redis.md: the key recipe block lost its node -e or --pattern line');
  return { hashScript, pattern };
}

it("the recipe's SCAN MATCH finds every key of the visitor, and only theirs", async () => {
  const user = `doc-${randomUUID()}@example.com`;
  const neighbour = `doc-${randomUUID()}@example.com`;
  for (const identifier of [user, neighbour]) {
    await stack.runtime.engine.decide({ surfaceSlug: 'read', identity: { userIdentifier: identifier }, trusted: true, resource: { id: 'a1' } });
    await stack.runtime.engine.admin.grant({ userType: 'authenticated', identifier }, { plan: 'premium' }, 'test');
  }
  const { hashScript, pattern } = recipe();
  const hash = execFileSync(process.execPath, ['-e', hashScript, user], { encoding: 'utf8' }).trim();
  const match = pattern.replace('plangate:', testKeyPrefix(SCOPE)).replace('<hash>', hash);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  const month = new Date().toISOString().slice(0, 7);
  expect(found.sort()).toEqual(
    [
      `${testKeyPrefix(SCOPE)}{u:${hash}}:default:feat_articles.enabled:month:${month}-01`,
      `${testKeyPrefix(SCOPE)}{u:${hash}}:default:feat_articles.enabled:month:${month}-01:r`,
      `${testKeyPrefix(SCOPE)}{u:${hash}}:grants`,
    ].sort(),
  );
});
