// Every JWT rejection over the decision API: anonymous with createAnonymousIdentifierFallback, a bare
// 401 "invalid token" without it (the reason code goes to logs only). docs/jwt.md, issue 4.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { JwtRejectReason } from '../../src/engine/identity/jwt-verifier.js';
import { createLogger } from '../../src/ops/logger.js';
import { createRuntime, type Runtime } from '../../src/ops/runtime.js';
import { craft, nowSeconds, sign, testKey, type TestKey } from '../engine/identity/fixtures.js';
import { HELLO_WORLD, SECRET_KEY } from '../support/hello-world.js';

const ISSUER = 'https://id.example';
const AUDIENCE = 'plangate';

let runtime: Runtime;
let app: ReturnType<typeof createApiApp>;
let key: TestKey;
let stranger: TestKey;
let ec: TestKey;

beforeAll(async () => {
  [key, stranger, ec] = await Promise.all([testKey('RS256'), testKey('RS256'), testKey('ES256')]);
  const dir = mkdtempSync(join(tmpdir(), 'plangate-jwt-'));
  const publicKeyFile = join(dir, 'key.pem');
  writeFileSync(publicKeyFile, await exportSPKI((await generateKeyPair('RS256')).publicKey));
  const model = await loadConfig(HELLO_WORLD, { env: { ...process.env, REDIS_URL: '', PLANGATE_TEST_JWT_PUBLIC_KEY: publicKeyFile } });
  // The tutorial's integration, with this test's key and every claim check turned on.
  const [tutorial] = model.jwtIntegrations;
  const jwtIntegrations = [
    { ...tutorial!, pemKeys: [{ pem: key.pem, kid: 'k1' }], issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 30, maxTokenAgeSeconds: 3600 },
  ];
  const logger = createLogger({ level: 'silent' });
  runtime = await createRuntime({ ...model, jwtIntegrations }, { logger });
  app = createApiApp({ engine: () => runtime.engine, events: runtime.events });
});
afterAll(() => runtime.close());

const good = { email: 'test@example.com', iss: ISSUER, aud: AUDIENCE, iat: nowSeconds() };
const tamper = (token: string) => {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify({ ...good, email: 'admin@example.com' })).toString('base64url')}.${signature}`;
};

const cases: [JwtRejectReason, () => Promise<string> | string][] = [
  ['algorithm-not-allowed', () => craft({ alg: 'none' }, good)],
  ['algorithm-not-allowed', () => sign(good, ec)],
  ['bad-signature', async () => tamper(await sign(good, key, { kid: 'k1' }))],
  ['bad-signature', () => sign(good, stranger, { kid: 'k1' })],
  ['unknown-key', () => sign(good, key, { kid: '../../../../dev/null' })],
  ['malformed', () => 'not.a.jwt'],
  ['malformed', () => sign(good, stranger, { kid: 'k1', jwk: stranger.jwk })],
  ['too-large', () => sign({ ...good, pad: 'x'.repeat(9000) }, key, { kid: 'k1' })],
  ['expired', () => sign({ ...good, exp: nowSeconds() - 120 }, key, { kid: 'k1' })],
  ['not-yet-valid', () => sign({ ...good, nbf: nowSeconds() + 120 }, key, { kid: 'k1' })],
  ['too-old', () => sign({ ...good, iat: nowSeconds() - 7200 }, key, { kid: 'k1' })],
  ['issuer', () => sign({ ...good, iss: 'https://evil.example' }, key, { kid: 'k1' })],
  ['audience', () => sign({ ...good, aud: 'someone-else' }, key, { kid: 'k1' })],
  ['missing-claim', () => sign({ ...good, email: 7 }, key, { kid: 'k1' })],
];

function decide(identity: Record<string, unknown>) {
  return request(app).post('/api/v1/surface-decisions').set('Authorization', `Bearer ${SECRET_KEY}`).send({ surfaceSlug: 'hello-world', identity });
}

describe('a rejected userJwt at the decision API', () => {
  it('a valid token is accepted (the cases below differ from it in one way each)', async () => {
    const { status, body } = await decide({ userJwt: await sign(good, key, { kid: 'k1' }) });
    expect(status).toBe(200);
    expect(body.identity).toMatchObject({ authType: 'jwt', identifier: 'test@example.com', isAuthenticated: true });
  });

  it.each(cases)('%s: 401 without the fallback flag, anonymous with it', async (reason, token) => {
    const userJwt = await token();
    expect(await runtime.engine.verifier.verify(userJwt)).toMatchObject({ ok: false, reason });

    const refused = await decide({ userJwt });
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).not.toContain(reason);

    const degraded = await decide({ userJwt, createAnonymousIdentifierFallback: true });
    expect(degraded.status).toBe(200);
    expect(degraded.body.identity).toEqual({
      authType: 'anonymous',
      identifier: expect.stringMatching(/^[0-9a-f-]{36}$/),
      isAuthenticated: false,
      jwtClaims: {},
    });
  });
});
