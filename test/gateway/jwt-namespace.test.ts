// Two JWT integrations, one identifier space unless told otherwise: a partner's token whose claim is
// alice@example.com must not become alice. With `identifierNamespace` the partner's identifier is
// `partner:<claim value>`, at the gateway (what the upstream sees, whose counters) and at the API;
// `plangate validate` warns about two integrations that share identifiers without saying so.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/errors.js';
import { createLogger } from '../../src/ops/logger.js';
import { rawRequest, startStack, testKeys, writeConfig, type Stack } from './harness.js';

const PARTNER_SECRET = 'the-partner-hmac-secret-of-at-least-32-bytes';

function config(namespace: string | undefined): string {
  return writeConfig(`version: 1
apiKeys:
  - key: sk_test_namespaces
jwt:
  integrations:
    - name: Primary
      algorithms: [RS256]
      publicKeyFile: \${PLANGATE_TEST_JWT_PUBLIC_KEY}
      claimKey: email
    - name: Partner
      algorithms: [HS256]
      secret: ${PARTNER_SECRET}
      claimKey: uid
${namespace === undefined ? '' : `      identifierNamespace: ${namespace}\n`}features:
  articles: {}
plans:
  registered:
    assign: authenticated
    features:
      articles:
        enabled: { limit: 2, period: month }
surfaces:
  article: {}
store:
  redis:
    url: \${REDIS_URL}
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  routes:
    - path: /articles/**
      surface: article
      consume: [articles.enabled]
    - path: /**
      surface: article
`);
}

const partnerToken = (uid: string) => new SignJWT({ uid }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(PARTNER_SECRET));

describe('identifierNamespace', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(config('partner'), 'jwt-namespace');
  });
  afterAll(() => stack?.close());

  async function read(token: string, path: string) {
    const before = stack.upstream.seen.length;
    const res = await rawRequest(stack.gateway.url, path, [`Authorization: Bearer ${token}`, 'Accept: application/json']);
    return { status: res.status, upstreamId: stack.upstream.seen.slice(before)[0]?.headers['x-plangate-id'] };
  }

  it("a partner token with alice's address is partner:alice, with its own counters", async () => {
    const alice = `alice-${Date.now()}@example.com`;
    const primary = await stack.keys.sign({ email: alice });
    const partner = await partnerToken(alice);
    expect(await read(primary, '/articles/1')).toEqual({ status: 200, upstreamId: encodeURIComponent(alice) });
    expect(await read(primary, '/articles/2')).toEqual({ status: 200, upstreamId: encodeURIComponent(alice) });
    expect((await read(primary, '/articles/3')).status).toBe(402); // alice's meter is spent
    // The partner's alice is someone else: their own meter, their own id upstream.
    expect(await read(partner, '/articles/1')).toEqual({ status: 200, upstreamId: encodeURIComponent(`partner:${alice}`) });
    expect(await read(partner, '/articles/2')).toEqual({ status: 200, upstreamId: encodeURIComponent(`partner:${alice}`) });
    expect((await read(partner, '/articles/3')).status).toBe(402);
  });

  it('the API reports the namespaced identifier', async () => {
    const app = createApiApp({ engine: () => stack.runtime.engine, logger: createLogger({ level: 'silent' }) });
    const res = await request(app)
      .post('/api/v1/access-checks')
      .set('Authorization', 'Bearer sk_test_namespaces')
      .send({ identity: { userJwt: await partnerToken('bob@example.com') } })
      .expect(200);
    expect(res.body.identity).toEqual({ authType: 'jwt', identifier: 'partner:bob@example.com', isAuthenticated: true, jwtClaims: { uid: 'bob@example.com' } });
  });
});

describe('the collision warning', () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = { REDIS_URL: '', PLANGATE_UPSTREAM: 'http://127.0.0.1:1', PLANGATE_TEST_JWT_PUBLIC_KEY: (await testKeys()).publicKeyFile };
  });

  it('names the second integration of a shared identifier space, at its place in the file', async () => {
    const shared = config(undefined);
    const warnings: ConfigIssue[] = [];
    await loadConfig(shared, { env, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([
      expect.objectContaining({
        file: shared,
        line: 10,
        path: 'jwt.integrations[1]',
        message: expect.stringMatching(
          /^integration 'Partner' shares its identifiers with 'Primary' \(jwt\.integrations\[0\]\): .* give the one added later an identifierNamespace/,
        ),
      }),
    ]);
    const none: ConfigIssue[] = [];
    await loadConfig(config('partner'), { env, onWarning: (w) => none.push(w) });
    expect(none).toEqual([]);
  });

  it('plangate validate prints it and still exits 0', async () => {
    const file = config(undefined);
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'validate', file], { env: { ...process.env, ...env } });
    expect(result.stdout).toMatch(/^ok: .*; 1 warning\)$/m);
    expect(result.stderr).toMatch(new RegExp(`^warning: ${file}:10:7  jwt\\.integrations\\[1\\]: integration 'Partner' shares its identifiers with 'Primary'`));
  });
});
