// `api.anonymousIds: signed` through the real API app: minted ids come back signed, a publishable-key
// caller must send one this server signed, secret-key callers may send any identifier, a rotated key
// re-signs, and forged ids (alone or 400 at once) spend nobody's meter. `unsigned` keeps the old rules.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config/load.js';
import { AnonymousIds, type AnonymousIdKey } from '../../src/engine/identity/anonymous-ids.js';
import { createLogger } from '../../src/ops/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { writeConfig } from '../gateway/harness.js';
import { anonymousReadsYaml } from '../support/anonymous-ids.js';

const SK = 'sk_test_anonymous_ids';
const PK = 'pk_test_anonymous_ids';
const K1: AnonymousIdKey = { id: 'k1', secret: 'first-anonymous-id-secret-0123456789abcdef' };
const K2: AnonymousIdKey = { id: 'k2', secret: 'second-anonymous-id-secret-0123456789abcde' };
const ROGUE: AnonymousIdKey = { id: 'k2', secret: 'a-secret-nobody-configured-0123456789abcdef' };
const COUNTER = 'default:feat_articles.enabled';

function yaml(mode: 'signed' | 'unsigned', keys: readonly AnonymousIdKey[]): string {
  return `version: 1
apiKeys:
  - key: ${SK}
  - key: ${PK}
api:
  anonymousIds: ${mode}
${anonymousReadsYaml(keys, false)}surfaces:
  article:
    consume: [articles.enabled]
`;
}

async function api(mode: 'signed' | 'unsigned', keys: readonly AnonymousIdKey[]) {
  const runtime = await createRuntime(await loadConfig(writeConfig(yaml(mode, keys)), { env: {} }), { logger: createLogger({ level: 'silent' }) });
  return { runtime, app: createApiApp({ engine: () => runtime.engine, logger: createLogger({ level: 'silent' }) }) };
}

type App = ReturnType<typeof createApiApp>;
const decide = (app: App, key: string, identity: Record<string, unknown>) =>
  request(app).post('/api/v1/surface-decisions').set('Authorization', `Bearer ${key}`).send({ surfaceSlug: 'article', identity });
const remaining = (body: { features: { articles: { properties: { enabled: { remainingUnits?: number } } } } }) =>
  body.features.articles.properties.enabled.remainingUnits;

describe('api.anonymousIds: signed', () => {
  let runtime: Runtime;
  let app: App;
  const ids = new AnonymousIds([K2, K1]);
  beforeAll(async () => {
    ({ runtime, app } = await api('signed', [K2, K1]));
  });
  afterAll(() => runtime?.close());

  it('createAnonymousIdentifier returns a signed id; sent back by a pk_ caller it is the same visitor', async () => {
    const first = await decide(app, PK, { createAnonymousIdentifier: true }).expect(200);
    const identifier: string = first.body.identity.identifier;
    expect(identifier).toMatch(/^[0-9a-f-]{36}\.[\w-]{43}$/);
    expect(ids.verify(identifier)).toEqual({ id: identifier.slice(0, 36), stale: false });
    expect(first.body.identity).toEqual({ authType: 'anonymous', identifier, isAuthenticated: false, jwtClaims: {} });
    expect(remaining(first.body)).toBe(2);
    const second = await decide(app, PK, { anonymousIdentifier: identifier }).expect(200);
    expect(second.body.identity.identifier).toBe(identifier);
    expect(remaining(second.body)).toBe(1);
  });

  it('the JWT fallback mints a signed id too', async () => {
    const res = await decide(app, PK, { userJwt: 'not.a.jwt', createAnonymousIdentifierFallback: true }).expect(200);
    expect(ids.verify(res.body.identity.identifier)).toBeDefined();
  });

  it('a pk_ caller with an id this server did not sign gets a 401 naming the field, and nothing is consumed', async () => {
    const victim = (await decide(app, PK, { createAnonymousIdentifier: true }).expect(200)).body.identity.identifier as string;
    const forged = [
      victim.slice(0, 36), // the bare UUID
      `${victim.slice(0, 36)}.${'A'.repeat(43)}`,
      `${victim.slice(0, 60)}${victim[60] === 'x' ? 'y' : 'x'}${victim.slice(61)}`, // one character of the MAC changed
      new AnonymousIds([ROGUE]).sign(victim.slice(0, 36)),
      'any-string-the-page-chose',
    ];
    for (const anonymousIdentifier of forged) {
      const res = await decide(app, PK, { anonymousIdentifier }).expect(401);
      expect(res.body).toEqual({
        status: 'error',
        statusCode: 401,
        message: expect.stringMatching(/^identity\.anonymousIdentifier is not an id this server signed/),
      });
    }
    expect(remaining((await decide(app, PK, { anonymousIdentifier: victim }).expect(200)).body)).toBe(1); // 2 before this read: untouched
  });

  it('with createAnonymousIdentifierFallback a pk_ caller gets a new signed id instead of the 401', async () => {
    const bare = randomUUID();
    const res = await decide(app, PK, { anonymousIdentifier: bare, createAnonymousIdentifierFallback: true }).expect(200);
    const minted = ids.verify(res.body.identity.identifier);
    expect(minted).toBeDefined();
    expect(minted!.id).not.toBe(bare);
    expect(remaining(res.body)).toBe(2);
  });

  it('an id signed with the previous key is accepted and returned re-signed under the current one, same counters', async () => {
    const id = randomUUID();
    const underK1 = new AnonymousIds([K1]).sign(id);
    const first = await decide(app, PK, { anonymousIdentifier: underK1 }).expect(200);
    expect(first.body.identity.identifier).toBe(new AnonymousIds([K2]).sign(id));
    expect(remaining(first.body)).toBe(2);
    const next = await decide(app, PK, { anonymousIdentifier: first.body.identity.identifier }).expect(200);
    expect(remaining(next.body)).toBe(1);
  });

  it('sk_ callers may send any identifier (kept as sent); a signed one is the same visitor as for pk_ callers', async () => {
    const own = `backend-session-${randomUUID()}`;
    const res = await decide(app, SK, { anonymousIdentifier: own }).expect(200);
    expect(res.body.identity.identifier).toBe(own);

    const signed = (await decide(app, PK, { createAnonymousIdentifier: true }).expect(200)).body.identity.identifier as string;
    await request(app)
      .post('/api/v1/counter-updates')
      .set('Authorization', `Bearer ${SK}`)
      .send({ identity: { anonymousIdentifier: signed }, counterId: COUNTER, update: 1 })
      .expect(200);
    const after = await decide(app, PK, { anonymousIdentifier: signed }).expect(200);
    expect(remaining(after.body)).toBe(0); // 1 by the first decision, 1 by the update, 1 now
  });

  it('400 concurrent pk_ decisions with forged ids: every one refused, the victim keeps their meter', async () => {
    const victim = (await decide(app, PK, { createAnonymousIdentifier: true }).expect(200)).body.identity.identifier as string;
    const id = victim.slice(0, 36);
    const rogue = new AnonymousIds([ROGUE]);
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => decide(app, PK, { anonymousIdentifier: i % 2 === 0 ? id : rogue.sign(id) })));
    expect(results.map((r) => r.status)).toEqual(Array(400).fill(401));
    expect(remaining((await decide(app, PK, { anonymousIdentifier: victim }).expect(200)).body)).toBe(1);
  });
});

describe('api.anonymousIds: unsigned (the default)', () => {
  let runtime: Runtime;
  let app: App;
  beforeAll(async () => {
    ({ runtime, app } = await api('unsigned', [K1]));
  });
  afterAll(() => runtime?.close());

  it('keeps the MonetizationOS rules: bare UUIDs minted, any identifier accepted from any key', async () => {
    const minted = await decide(app, PK, { createAnonymousIdentifier: true }).expect(200);
    expect(minted.body.identity.identifier).toMatch(/^[0-9a-f-]{36}$/);
    const chosen = await decide(app, PK, { anonymousIdentifier: 'chosen-by-the-page' }).expect(200);
    expect(chosen.body.identity.identifier).toBe('chosen-by-the-page');
  });

  it('refuses a config that asks for signed ids without a key', async () => {
    const file = writeConfig(yaml('signed', [K1]).replace(/anonymousIds:\n {2}keys:\n[\s\S]*?features:/, 'features:'));
    await expect(loadConfig(file, { env: {} })).rejects.toThrow(/api\.anonymousIds: signed anonymous ids need the secret they are signed with/);
  });
});
