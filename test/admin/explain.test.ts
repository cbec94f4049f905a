// Explain, through the API of a running gateway and through the CLI (spawned), on Redis: a denied
// read shows the route, the identity, the plans, the meter arithmetic and the paywall the client would
// get, and consumes nothing; a granted reader's premium read shows the grant and the upstream headers.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGateway, type RunningServers } from '../../src/cli/run-gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { testKeyPair } from '../support/keys.js';
import { ADMIN_CONFIG, PLAIN_SECRET_KEY, PUBLISHABLE_KEY, storeEnv } from './harness.js';

const run = promisify(execFile);
const ARTICLES = 'default:feat_articles.enabled';

let running: RunningServers;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  const keys = await testKeyPair();
  env = { ...process.env, PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile, ...storeEnv('redis', 'explain') };
  const model = await loadConfig(ADMIN_CONFIG, { env });
  running = await runGateway({ model, env, logger: createLogger({ level: 'silent' }), listen: { port: 0 }, ops: { port: 0 }, watch: false });
});
afterAll(() => running?.close());

const explain = async (body: unknown, key = PLAIN_SECRET_KEY) => {
  const res = await fetch(`${running.api!.url}/api/v1/explain`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const usage = async (anonymous: string) =>
  (await running.runtime.engine.admin.meters({ userType: 'anonymous', identifier: anonymous })).find((m) => m.counterId === ARTICLES)!.periods[0].usage;

describe('POST /api/v1/explain', () => {
  it('a denied read: route and why, identity, plan, meter arithmetic, the paywall; nothing consumed', async () => {
    const anonymous = randomUUID();
    await running.runtime.engine.admin.adjustMeter({ userType: 'anonymous', identifier: anonymous }, ARTICLES, 3, 'test');
    const { status, body } = await explain({ path: '/articles/fourth-story', identity: { anonymousIdentifier: anonymous } });
    expect(status).toBe(200);
    const e = body.explanation;
    expect(e.route).toMatchObject({ matched: '/articles/**', index: 0, surface: 'article' });
    expect(e.route.why).toContain("route 0 '/articles/**' matches /articles/fourth-story for GET: the first that does");
    expect(e.identity).toMatchObject({ authType: 'anonymous' });
    expect(e.identity.how).toContain('signed anonymous cookie');
    expect(e.plans).toEqual([{ plan: 'anonymous', source: 'automatic' }]);
    expect(e.properties).toContainEqual({ property: 'articles.enabled', plan: 'anonymous', value: '3 per month, unique resources' });
    expect(e.meters).toContain('articles.enabled (plan anonymous): 3 of 3 used this month; + 1 would make 4 of 3: refused');
    expect(e.meters).toContain("denied: the route's consumption");
    expect(e.storeCalls[0]).toMatchObject({ dryRun: true, grants: [] });
    expect(e.result).toMatchObject({ kind: 'answer', outcome: 'denied', status: 402 });
    expect(await usage(anonymous)).toBe(3);
  });

  it('a granted reader on the premium route: the grant as a source, the upstream headers it would get', async () => {
    const user = `premium-${randomUUID()}`;
    const deniedFirst = await explain({ path: '/premium/report', identity: { userIdentifier: user } });
    expect(deniedFirst.body.explanation.result).toMatchObject({ kind: 'answer', outcome: 'denied' });
    expect(deniedFirst.body.explanation.meters).toContain("denied: the route's requirement");
    await running.runtime.engine.admin.grant({ userType: 'authenticated', identifier: user }, { plan: 'premium', expiresAt: '2099-01-01' }, 'test');
    const e = (await explain({ path: '/premium/report', identity: { userIdentifier: user } })).body.explanation;
    expect(e.identity).toMatchObject({ authType: 'provided', identifier: user });
    expect(e.plans).toEqual([
      { plan: 'registered', source: 'automatic' },
      { plan: 'premium', source: 'grant', expiresAt: '2099-01-01T00:00:00.000Z' },
    ]);
    expect(e.properties).toContainEqual({ property: 'premium.enabled', plan: 'premium', value: 'on' });
    expect(e.result.kind).toBe('forward');
    expect(e.result.upstreamHeaders['x-plangate-plans']).toBe('registered,premium');
  });

  it('refuses publishable keys and bad input', async () => {
    expect((await explain({ path: '/articles/x' }, PUBLISHABLE_KEY)).body.code).toBe('forbidden');
    const bad = await explain({ path: 'articles/x' });
    expect([bad.status, bad.body.code]).toEqual([400, 'invalid-request']);
    const two = await explain({ path: '/articles/x', identity: { userIdentifier: 'a', anonymousIdentifier: 'b' } });
    expect([two.status, two.body.code]).toEqual([400, 'identity-conflict']);
  });
});

describe('plangate explain', () => {
  it('explains a denied read as text and as JSON, consuming nothing; decide without --consume neither', async () => {
    const anonymous = randomUUID();
    await running.runtime.engine.admin.adjustMeter({ userType: 'anonymous', identifier: anonymous }, ARTICLES, 3, 'test');
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'explain', '--config', ADMIN_CONFIG, '--path', '/articles/another', '--anonymous', anonymous];
    const [text, json] = await Promise.all([run(process.execPath, args, { env, timeout: 120_000 }), run(process.execPath, [...args, '--json'], { env, timeout: 120_000 })]);
    expect(text.stdout).toContain("route 0 '/articles/**' matches /articles/another for GET: the first that does");
    expect(text.stdout).toContain('articles.enabled (plan anonymous): 3 of 3 used this month; + 1 would make 4 of 3: refused');
    expect(text.stdout).toContain('denied: the client gets 402');
    const report = JSON.parse(json.stdout);
    expect(report.result).toMatchObject({ kind: 'answer', outcome: 'denied', status: 402 });
    expect(json.stderr).not.toContain('"code":"request"');
    expect(await usage(anonymous)).toBe(3);
  }, 180_000);
});
