// The verifier end to end with real keys: what is accepted, the attack matrix with each reason code,
// how the integration is chosen, hostile claim names, logging, and the verified-token cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../../../src/engine/identity/jwt.js';
import type { JwtRejectReason } from '../../../src/engine/identity/jwt-verifier.js';
import type { ResolvedJwtIntegration } from '../../../src/engine/model.js';
import { startJwksServer, type JwksServer } from '../../support/jwks-server.js';
import { craft, HMAC_SECRET, integration, nowSeconds, sign, signHmac, signRaw, testClock, testKey, type TestKey } from './fixtures.js';

let rsa: TestKey;
let ec: TestKey;
let ed: TestKey;
let attacker: TestKey;
let jwks: JwksServer;

beforeAll(async () => {
  [rsa, ec, ed, attacker] = await Promise.all([testKey('RS256'), testKey('ES256'), testKey('EdDSA'), testKey('RS256')]);
  jwks = await startJwksServer({ keys: [{ ...rsa.jwk, kid: 'rsa-1' }] });
});
afterAll(() => jwks.close());

const rsaIntegration = () => integration({ pemKeys: [{ pem: rsa.pem }] });

async function expectAccepted(integrations: ResolvedJwtIntegration[], token: string, identifier = 'user-1') {
  const verifier = createJwtVerifier(integrations);
  const result = await verifier.verify(token);
  expect(result).toMatchObject({ ok: true, identifier });
  return result;
}

async function expectRejected(integrations: ResolvedJwtIntegration[], token: string, reason: JwtRejectReason) {
  const verifier = createJwtVerifier(integrations);
  expect(await verifier.verify(token)).toMatchObject({ ok: false, reason });
}

describe('accepted tokens', () => {
  it.each([
    ['RS256', () => rsa],
    ['ES256', () => ec],
    ['EdDSA', () => ed],
  ])('%s under an integration allowing it (PEM key)', async (alg, key) => {
    const token = await sign({ sub: 'user-1' }, key());
    await expectAccepted([integration({ algorithms: [alg as 'RS256'], pemKeys: [{ pem: key().pem }] })], token);
  });

  it('HS256 with the configured secret', async () => {
    await expectAccepted([integration({ algorithms: ['HS256'], secret: HMAC_SECRET })], await signHmac({ sub: 'user-1' }, HMAC_SECRET));
  });

  it('an audience list containing the expected value, and a configured list containing the token audience', async () => {
    const token = await sign({ sub: 'user-1', aud: ['other', 'plangate'] }, rsa);
    await expectAccepted([integration({ pemKeys: [{ pem: rsa.pem }], audience: 'plangate' })], token);
    await expectAccepted([integration({ pemKeys: [{ pem: rsa.pem }], audience: ['x', 'other'] })], token);
  });

  it('exp inside the clock tolerance, and a token without exp (the tutorial token has none)', async () => {
    await expectAccepted([rsaIntegration()], await sign({ sub: 'user-1', exp: nowSeconds() - 10 }, rsa));
    await expectAccepted([rsaIntegration()], await sign({ sub: 'user-1', iat: nowSeconds() - 365 * 86_400 }, rsa));
  });

  it('PEM keys with a kid list: the key named by kid, or each key when the token has none', async () => {
    const keys = [
      { pem: ec.pem, kid: 'k1' },
      { pem: rsa.pem, kid: 'k2' },
    ];
    const both = integration({ algorithms: ['RS256', 'ES256'], pemKeys: keys });
    await expectAccepted([both], await sign({ sub: 'user-1' }, rsa, { kid: 'k2' }));
    await expectAccepted([both], await sign({ sub: 'user-1' }, rsa));
    await expectRejected([both], await sign({ sub: 'user-1' }, rsa, { kid: 'k1' }), 'unknown-key');
    const twoRsa = integration({
      pemKeys: [
        { pem: attacker.pem, kid: 'k1' },
        { pem: rsa.pem, kid: 'k2' },
      ],
    });
    await expectRejected([twoRsa], await sign({ sub: 'user-1' }, rsa, { kid: 'k1' }), 'bad-signature');
  });

  it('nesting of exactly 32 levels', async () => {
    await expectAccepted([rsaIntegration()], await sign({ sub: 'user-1', deep: nested(31) }, rsa));
  });
});

/** An object `levels` deep ({} is one level). */
function nested(levels: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { n: value };
  return value;
}

describe('the attack matrix', () => {
  const now = nowSeconds();
  const cases: [string, () => Promise<string> | string, () => ResolvedJwtIntegration[], JwtRejectReason][] = [
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): (typeof cases)[number] => [
      `alg: ${alg}`,
      () => craft({ alg, typ: 'JWT' }, { sub: 'user-1' }),
      () => [rsaIntegration()],
      'algorithm-not-allowed',
    ]),
    ['HS256 signed with the RS256 public key as secret', () => signHmac({ sub: 'user-1' }, rsa.pem), () => [rsaIntegration()], 'algorithm-not-allowed'],
    [
      'HS256 with the public key as secret, integration allowing HS256 and RS256 but holding no secret',
      () => signHmac({ sub: 'user-1' }, rsa.pem),
      () => [integration({ algorithms: ['RS256', 'HS256'], pemKeys: [{ pem: rsa.pem }] })],
      'unknown-key',
    ],
    [
      'HS256 with the public key as secret, integration holding another secret',
      () => signHmac({ sub: 'user-1' }, rsa.pem),
      () => [integration({ algorithms: ['RS256', 'HS256'], pemKeys: [{ pem: rsa.pem }], secret: HMAC_SECRET })],
      'bad-signature',
    ],
    ['an algorithm outside the allow-list (ES256 under RS256)', () => sign({ sub: 'user-1' }, ec), () => [rsaIntegration()], 'algorithm-not-allowed'],
    [
      'an algorithm outside the allow-list (RS384 under RS256)',
      async () => sign({ sub: 'user-1' }, await testKey('RS384')),
      () => [rsaIntegration()],
      'algorithm-not-allowed',
    ],
    ['tampered payload', async () => swapPayload(await sign({ sub: 'user-1' }, rsa), { sub: 'admin' }), () => [rsaIntegration()], 'bad-signature'],
    ['truncated signature', async () => (await sign({ sub: 'user-1' }, rsa)).slice(0, -4), () => [rsaIntegration()], 'bad-signature'],
    ['truncated to the header', async () => (await sign({ sub: 'user-1' }, rsa)).slice(0, 30), () => [rsaIntegration()], 'malformed'],
    ['two segments', async () => (await sign({ sub: 'user-1' }, rsa)).split('.').slice(0, 2).join('.'), () => [rsaIntegration()], 'malformed'],
    ['four segments', async () => `${await sign({ sub: 'user-1' }, rsa)}.AAAA`, () => [rsaIntegration()], 'malformed'],
    ['non-base64url characters', async () => (await sign({ sub: 'user-1' }, rsa)).replace('.', '.+/'), () => [rsaIntegration()], 'malformed'],
    ['base64 padding', async () => (await sign({ sub: 'user-1' }, rsa)).replace('.', '==.'), () => [rsaIntegration()], 'malformed'],
    ['an empty string', () => '', () => [rsaIntegration()], 'malformed'],
    ['a header that is not JSON', () => `${Buffer.from('nope').toString('base64url')}.e30.AAAA`, () => [rsaIntegration()], 'malformed'],
    ['expired beyond the tolerance', () => sign({ sub: 'user-1', exp: now - 60 }, rsa), () => [rsaIntegration()], 'expired'],
    ['not yet valid', () => sign({ sub: 'user-1', nbf: now + 120 }, rsa), () => [rsaIntegration()], 'not-yet-valid'],
    [
      'issued in the future',
      () => sign({ sub: 'user-1', iat: now + 600 }, rsa),
      () => [integration({ pemKeys: [{ pem: rsa.pem }], maxTokenAgeSeconds: 60 })],
      'not-yet-valid',
    ],
    ['a non-numeric exp', () => sign({ sub: 'user-1', exp: 'tomorrow' }, rsa), () => [rsaIntegration()], 'malformed'],
    [
      'wrong issuer',
      () => sign({ sub: 'user-1', iss: 'https://evil.example' }, rsa),
      () => [integration({ pemKeys: [{ pem: rsa.pem }], issuer: 'https://id.example' })],
      'issuer',
    ],
    ['missing issuer', () => sign({ sub: 'user-1' }, rsa), () => [integration({ pemKeys: [{ pem: rsa.pem }], issuer: 'https://id.example' })], 'issuer'],
    [
      'wrong audience',
      () => sign({ sub: 'user-1', aud: 'other' }, rsa),
      () => [integration({ pemKeys: [{ pem: rsa.pem }], audience: 'plangate' })],
      'audience',
    ],
    ['missing audience', () => sign({ sub: 'user-1' }, rsa), () => [integration({ pemKeys: [{ pem: rsa.pem }], audience: ['plangate', 'x'] })], 'audience'],
    [
      'older than maxTokenAgeSeconds',
      () => sign({ sub: 'user-1', iat: now - 3600 }, rsa),
      () => [integration({ pemKeys: [{ pem: rsa.pem }], maxTokenAgeSeconds: 600 })],
      'too-old',
    ],
    [
      'no exp where exp is required',
      () => sign({ sub: 'user-1' }, rsa),
      () => [integration({ pemKeys: [{ pem: rsa.pem }], requiredClaims: ['exp'] })],
      'missing-claim',
    ],
    ['unknown kid', () => sign({ sub: 'user-1' }, rsa, { kid: 'nope' }), () => [integration({ pemKeys: [{ pem: rsa.pem, kid: 'k1' }] })], 'unknown-key'],
    [
      'kid ../../../../dev/null',
      () => sign({ sub: 'user-1' }, rsa, { kid: '../../../../dev/null' }),
      () => [integration({ pemKeys: [{ pem: rsa.pem, kid: 'k1' }] })],
      'unknown-key',
    ],
    [
      'a 10 KB kid',
      () => sign({ sub: 'user-1' }, rsa, { kid: 'k'.repeat(10 * 1024) }),
      () => [integration({ pemKeys: [{ pem: rsa.pem, kid: 'k1' }] })],
      'unknown-key',
    ],
    ['a non-string kid', () => craft({ alg: 'RS256', kid: 7 }, { sub: 'user-1' }, 'AAAA'), () => [rsaIntegration()], 'malformed'],
    ['an embedded jwk header', () => sign({ sub: 'user-1' }, attacker, { jwk: attacker.jwk }), () => [rsaIntegration()], 'malformed'],
    ['an x5u header', () => sign({ sub: 'user-1' }, rsa, { x5u: 'https://evil.example/cert.pem' }), () => [rsaIntegration()], 'malformed'],
    ['an x5c header', () => sign({ sub: 'user-1' }, rsa, { x5c: ['MIIB'] }), () => [rsaIntegration()], 'malformed'],
    [
      'crit with an unknown name',
      () => signRaw('{"sub":"user-1"}', rsa.privateKey, { alg: 'RS256', crit: ['x-custom'], 'x-custom': 1 }, { 'x-custom': true }),
      () => [rsaIntegration()],
      'malformed',
    ],
    ['a payload over 8 KB', () => sign({ sub: 'user-1', pad: 'x'.repeat(8 * 1024) }, rsa), () => [rsaIntegration()], 'too-large'],
    ['a token over 16 KB', () => `${'a'.repeat(17 * 1024)}.e30.AAAA`, () => [rsaIntegration()], 'too-large'],
    ['nesting deeper than 32', () => sign({ sub: 'user-1', deep: nested(32) }, rsa), () => [rsaIntegration()], 'malformed'],
    ['a payload that is not an object', () => signRaw('[1,2]', rsa.privateKey, { alg: 'RS256' }), () => [rsaIntegration()], 'malformed'],
    ['a missing claim-key value', () => sign({ name: 'user-1' }, rsa), () => [rsaIntegration()], 'missing-claim'],
    ['a non-string claim-key value', () => sign({ sub: 42 }, rsa), () => [rsaIntegration()], 'missing-claim'],
    ['an empty claim-key value', () => sign({ sub: '' }, rsa), () => [rsaIntegration()], 'missing-claim'],
    [
      'a claim key only found on the prototype',
      () => sign({ sub: 'user-1' }, rsa),
      () => [integration({ pemKeys: [{ pem: rsa.pem }], claimKey: 'constructor' })],
      'missing-claim',
    ],
    [
      'HS256 under a secret shorter than 32 bytes (load refuses it; the guard holds anyway)',
      () => signHmac({ sub: 'user-1' }, 'short'),
      () => [integration({ algorithms: ['HS256'], secret: 'short' })],
      'unknown-key',
    ],
    ['no integration configured', () => sign({ sub: 'user-1' }, rsa), () => [], 'no-integration'],
  ];

  it.each(cases)('rejects %s', async (_name, token, integrations, reason) => {
    await expectRejected(integrations(), await token(), reason);
  });

  it('a jku header is refused and never fetched', async () => {
    const before = jwks.requests.length;
    const jku = `${jwks.origin}/attacker-jwks.json`;
    const token = await sign({ sub: 'user-1' }, attacker, { jku, kid: 'rsa-1' });
    const verifier = createJwtVerifier([integration({ jwksUrl: jwks.url })]);
    expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'malformed' });
    // The same set verifies honest tokens, so the refusal is about the header, not the set.
    expect(await verifier.verify(await sign({ sub: 'user-1' }, rsa, { kid: 'rsa-1' }))).toMatchObject({ ok: true });
    expect(jwks.requests.slice(before)).toEqual(['/jwks.json']);
    verifier.close();
  });
});

function swapPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

describe('choosing the integration', () => {
  const secondSecret = 'a-second-hmac-secret-also-32-bytes-or-more';
  const byIssuer = () => [
    integration({ name: 'first', issuer: 'https://a.example', pemKeys: [{ pem: attacker.pem }] }),
    integration({ name: 'second', issuer: 'https://b.example', pemKeys: [{ pem: rsa.pem }] }),
  ];

  it('uses the integration whose issuer matches the token', async () => {
    const result = await expectAccepted(byIssuer(), await sign({ sub: 'user-1', iss: 'https://b.example' }, rsa));
    expect(result).toMatchObject({ integration: 'second' });
  });

  it('does not fall back to other integrations once the issuer matched', async () => {
    const verifier = createJwtVerifier(byIssuer());
    const token = await sign({ sub: 'user-1', iss: 'https://b.example' }, attacker);
    expect(await verifier.verify(token)).toEqual({ ok: false, reason: 'bad-signature', integration: 'second' });
  });

  it('tries integrations in order when no issuer matches, reporting the first failure', async () => {
    const inOrder = [
      integration({ name: 'one', algorithms: ['HS256'], secret: HMAC_SECRET }),
      integration({ name: 'two', algorithms: ['HS256'], secret: secondSecret, claimKey: 'uid' }),
    ];
    const verifier = createJwtVerifier(inOrder);
    expect(await verifier.verify(await signHmac({ uid: 'user-2' }, secondSecret))).toMatchObject({ ok: true, integration: 'two', identifier: 'user-2' });
    expect(await verifier.verify(await signHmac({ uid: 'user-2' }, 'a-third-secret-that-nobody-has-configured'))).toEqual({
      ok: false,
      reason: 'bad-signature',
      integration: 'one',
    });
  });
});

describe('claims', () => {
  const hostile =
    '{"sub":"user-1","z":1,"__proto__":{"polluted":true,"isAdmin":true},"constructor":{"prototype":{"polluted":true}},"a":[{"__proto__":{"x":1}}]}';

  it('returns claims as received, in order, with __proto__ and constructor as plain data', async () => {
    const verifier = createJwtVerifier([rsaIntegration()]);
    const token = await signRaw(hostile, rsa.privateKey, { alg: 'RS256' });
    for (const round of ['verified', 'cached']) {
      const result = await verifier.verify(token);
      if (!result.ok) throw new Error(`${round}: rejected ${result.reason}`);
      expect(Object.keys(result.claims)).toEqual(['sub', 'z', '__proto__', 'constructor', 'a']);
      expect(Object.getPrototypeOf(result.claims)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(result.claims, '__proto__')?.value).toEqual({ polluted: true, isAdmin: true });
      expect(JSON.stringify(result.claims)).toBe(hostile);
    }
    expect(verifier.stats().cacheHits).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('gives each caller its own claims object, even from the cache', async () => {
    const verifier = createJwtVerifier([rsaIntegration()]);
    const token = await sign({ sub: 'user-1', plan: 'basic' }, rsa);
    const first = await verifier.verify(token);
    if (first.ok) first.claims.plan = 'mutated';
    expect(await verifier.verify(token)).toMatchObject({ ok: true, claims: { plan: 'basic' } });
  });
});

describe('logging', () => {
  it('logs jwt-rejected with the reason and integration, never the token', async () => {
    const events: { level: string; code: string; fields?: Record<string, unknown> }[] = [];
    const verifier = createJwtVerifier([rsaIntegration()], { logger: { event: (level, code, fields) => events.push({ level, code, fields }) } });
    const token = swapPayload(await sign({ sub: 'user-1' }, rsa), { sub: 'admin' });
    await verifier.verify(token);
    expect(events).toEqual([{ level: 'info', code: 'jwt-rejected', fields: { reason: 'bad-signature', integration: 'test' } }]);
    const logged = JSON.stringify(events);
    for (const part of token.split('.')) expect(logged).not.toContain(part);
  });
});

describe('the verified-token cache', () => {
  it('does not re-verify a token it has verified', async () => {
    const verifier = createJwtVerifier([rsaIntegration()]);
    const token = await sign({ sub: 'user-1', exp: nowSeconds() + 600 }, rsa);
    await verifier.verify(token);
    await verifier.verify(token);
    expect(verifier.stats()).toMatchObject({ signatureChecks: 1, cacheHits: 1, cacheEntries: 1, accepted: 2 });
  });

  it('does not serve a token past its exp', async () => {
    const clock = testClock();
    const verifier = createJwtVerifier([integration({ pemKeys: [{ pem: rsa.pem }], clockToleranceSeconds: 0 })], { now: clock.now });
    const token = await sign({ sub: 'user-1', exp: nowSeconds() + 5 }, rsa);
    expect(await verifier.verify(token)).toMatchObject({ ok: true });
    clock.advance(6_000);
    expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifier.stats()).toMatchObject({ signatureChecks: 2, cacheHits: 0 });
  });

  it('keeps a token without exp for at most the cache TTL', async () => {
    const clock = testClock();
    const verifier = createJwtVerifier([rsaIntegration()], { now: clock.now, cacheMaxTtlMs: 1_000 });
    const token = await sign({ sub: 'user-1' }, rsa);
    await verifier.verify(token);
    clock.advance(1_001);
    await verifier.verify(token);
    expect(verifier.stats()).toMatchObject({ signatureChecks: 2, cacheHits: 0 });
  });

  it('stays within its size bound, and can be turned off', async () => {
    const bounded = createJwtVerifier([rsaIntegration()], { cacheSize: 2 });
    const off = createJwtVerifier([rsaIntegration()], { cacheSize: 0 });
    for (const n of [1, 2, 3]) {
      const token = await sign({ sub: `user-${n}` }, rsa);
      await bounded.verify(token);
      await off.verify(token);
      await off.verify(token);
    }
    expect(bounded.stats().cacheEntries).toBe(2);
    expect(off.stats()).toMatchObject({ cacheEntries: 0, cacheHits: 0, signatureChecks: 6 });
  });
});

describe('the rejected-token cache', () => {
  it('judges a repeated bad-signature token once, still counting and logging every rejection', async () => {
    const events: { code: string; fields?: Record<string, unknown> }[] = [];
    const verifier = createJwtVerifier([rsaIntegration()], { logger: { event: (_level, code, fields) => events.push({ code, fields }) } });
    const forged = await sign({ sub: 'user-1' }, attacker);
    for (let i = 0; i < 50; i++) expect(await verifier.verify(forged)).toEqual({ ok: false, reason: 'bad-signature', integration: 'test' });
    expect(verifier.stats()).toMatchObject({ signatureChecks: 1, rejectionCacheHits: 49, rejectionCacheEntries: 1, rejected: { 'bad-signature': 50 } });
    expect(events.filter((e) => e.code === 'jwt-rejected')).toHaveLength(50);
  });

  it('caches expired, wrong-issuer and missing-claim rejections too, but not a token that is not valid yet', async () => {
    const verifier = createJwtVerifier([integration({ pemKeys: [{ pem: rsa.pem }], issuer: 'https://idp.example', clockToleranceSeconds: 0 })]);
    const tokens = {
      expired: await sign({ sub: 'user-1', iss: 'https://idp.example', exp: nowSeconds() - 60 }, rsa),
      issuer: await sign({ sub: 'user-1', iss: 'https://other.example' }, rsa),
      'missing-claim': await sign({ iss: 'https://idp.example' }, rsa),
      'not-yet-valid': await sign({ sub: 'user-1', iss: 'https://idp.example', nbf: nowSeconds() + 600 }, rsa),
    };
    for (const [reason, token] of Object.entries(tokens)) {
      for (let i = 0; i < 3; i++) expect(await verifier.verify(token)).toMatchObject({ ok: false, reason });
    }
    // 1 check each for the three settled reasons; 3 for the token that time will make valid.
    expect(verifier.stats()).toMatchObject({ signatureChecks: 6, rejectionCacheHits: 6, rejectionCacheEntries: 3 });
  });

  it('serves a rejection for its TTL only, within its size bound, apart from the accepted tokens', async () => {
    const clock = testClock();
    const verifier = createJwtVerifier([rsaIntegration()], { now: clock.now, rejectionTtlMs: 1_000, cacheSize: 3 });
    const good = await sign({ sub: 'user-1' }, rsa);
    await verifier.verify(good);
    const forged = await Promise.all([1, 2, 3, 4, 5].map((n) => sign({ sub: `user-${n}` }, attacker)));
    for (const token of forged) await verifier.verify(token);
    expect(verifier.stats()).toMatchObject({ rejectionCacheEntries: 3, cacheEntries: 1 });
    expect(await verifier.verify(good)).toMatchObject({ ok: true }); // bad tokens never push a good one out
    expect(verifier.stats().cacheHits).toBe(1);
    const checks = verifier.stats().signatureChecks;
    await verifier.verify(forged[4]);
    expect(verifier.stats().signatureChecks).toBe(checks);
    clock.advance(1_000);
    await verifier.verify(forged[4]);
    expect(verifier.stats().signatureChecks).toBe(checks + 1);
  });

  it('never caches a rejection caused by a JWK Set that could not be fetched', async () => {
    const server = await startJwksServer({ keys: [{ ...rsa.jwk, kid: 'rsa-1' }] });
    await server.refuse();
    const clock = testClock();
    const verifier = createJwtVerifier([integration({ jwksUrl: server.url, jwks: { cooldownMs: 100, maxAgeMs: 60_000, timeoutMs: 2_000 } })], {
      now: clock.now,
    });
    try {
      const token = await sign({ sub: 'user-1' }, rsa, { kid: 'rsa-1' });
      expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'keys-unavailable' });
      await server.resume();
      clock.advance(100);
      expect(await verifier.verify(token)).toMatchObject({ ok: true, identifier: 'user-1' });
      expect(verifier.stats()).toMatchObject({ rejectionCacheEntries: 0, rejectionCacheHits: 0 });
    } finally {
      verifier.close();
      await server.close();
    }
  });

  it('judges afresh once the keys change: a token signed with a key published later verifies', async () => {
    const server = await startJwksServer({ keys: [{ ...rsa.jwk, kid: 'k' }] });
    const clock = testClock();
    const verifier = createJwtVerifier([integration({ jwksUrl: server.url, jwks: { cooldownMs: 100, maxAgeMs: 1_000, timeoutMs: 2_000 } })], {
      now: clock.now,
    });
    try {
      await verifier.warm();
      // The issuer rotates to a new key under the same kid before this instance has refetched.
      const token = await sign({ sub: 'user-1' }, attacker, { kid: 'k' });
      expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'bad-signature' });
      expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'bad-signature' });
      expect(verifier.stats().rejectionCacheHits).toBe(1);
      server.publish({ keys: [{ ...attacker.jwk, kid: 'k' }] });
      clock.advance(1_000);
      // Another token's lookup finds the set stale and refetches it (a new key generation)...
      await verifier.verify(await sign({ sub: 'user-2' }, rsa, { kid: 'k' }));
      // ...after which the cached rejection no longer applies.
      await expect.poll(() => verifier.verify(token), { timeout: 2_000 }).toMatchObject({ ok: true, identifier: 'user-1' });
    } finally {
      verifier.close();
      await server.close();
    }
  });
});
