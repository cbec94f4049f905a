// Identity (docs/concepts.md "Identity"): exactly one mode per request, trusted userIdentifier, minted anonymous
// ids, invalid JWTs (401 or the anonymous fallback), and the stable testGroup100 bucket.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityInput } from '../../../src/engine/engine.js';
import { EngineError } from '../../../src/engine/errors.js';
import { testGroup100 } from '../../../src/engine/identity/resolve.js';
import type { Runtime } from '../../../src/ops/runtime.js';
import { loadFixture, testSigner, type TestSigner } from '../../fixtures/engine/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('identity through the engine', () => {
  let signer: TestSigner;
  let stranger: TestSigner;
  let runtime: Runtime;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    [signer, stranger] = await Promise.all([testSigner(), testSigner()]);
    runtime = await loadFixture('identity.yaml', { signer, logLines });
  });
  afterAll(async () => {
    await runtime?.close();
    await Promise.all([signer?.cleanup(), stranger?.cleanup()]);
  });

  const decide = (identity: IdentityInput, trusted = false) => runtime.engine.decide({ surfaceSlug: 'whoami', identity, trusted });
  async function engineError(identity: IdentityInput, trusted = false): Promise<EngineError> {
    const error = await decide(identity, trusted).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  }

  it.each([
    { name: 'anonymousIdentifier + userIdentifier', identity: { anonymousIdentifier: 'a', userIdentifier: 'b' } },
    { name: 'anonymousIdentifier + userJwt', identity: { anonymousIdentifier: 'a', userJwt: 'x.y.z' } },
    { name: 'userJwt + createAnonymousIdentifier', identity: { userJwt: 'x.y.z', createAnonymousIdentifier: true } },
    { name: 'all four', identity: { anonymousIdentifier: 'a', userJwt: 'x.y.z', userIdentifier: 'b', createAnonymousIdentifier: true } },
  ])('two modes at once → 400 identity-conflict: $name', async ({ identity }) => {
    const error = await engineError(identity, true);
    expect(error).toMatchObject({ status: 400, code: 'identity-conflict' });
    expect(error.message).toMatch(/exactly one identity mode/);
  });

  it('no mode → 400 identity-missing', async () => {
    expect(await engineError({}, true)).toMatchObject({ status: 400, code: 'identity-missing' });
    // The fallback flag alone is not a mode.
    expect(await engineError({ createAnonymousIdentifierFallback: true }, true)).toMatchObject({ status: 400, code: 'identity-missing' });
  });

  it('userIdentifier from an untrusted (publishable) caller → 403; from a trusted one, a provided identity', async () => {
    expect(await engineError({ userIdentifier: 'test@example.com' }, false)).toMatchObject({ status: 403, code: 'identity-forbidden' });
    const { decision } = await decide({ userIdentifier: 'test@example.com' }, true);
    expect(decision.identity).toEqual({ authType: 'provided', identifier: 'test@example.com', isAuthenticated: true, jwtClaims: {} });
    expect(decision.surfaceBehavior.properties).toMatchObject({ userType: 'authenticated', jwtClaims: {} });
  });

  it('createAnonymousIdentifier mints a fresh UUID each time', async () => {
    const [a, b] = await Promise.all([decide({ createAnonymousIdentifier: true }), decide({ createAnonymousIdentifier: true })]);
    for (const { decision } of [a, b]) {
      expect(decision.identity).toEqual({ authType: 'anonymous', identifier: expect.stringMatching(UUID), isAuthenticated: false, jwtClaims: {} });
      expect(decision.surfaceBehavior.properties).toMatchObject({ userType: 'anonymous', jwtClaims: {} });
    }
    expect(a.decision.identity.identifier).not.toBe(b.decision.identity.identifier);
  });

  it('anonymousIdentifier: any non-empty string up to 256 characters', async () => {
    const long = 'x'.repeat(256);
    expect((await decide({ anonymousIdentifier: long })).decision.identity).toEqual({
      authType: 'anonymous',
      identifier: long,
      isAuthenticated: false,
      jwtClaims: {},
    });
    expect(await engineError({ anonymousIdentifier: `${long}x` })).toMatchObject({ status: 400, code: 'invalid-request' });
    expect(await engineError({ anonymousIdentifier: '' })).toMatchObject({ status: 400, code: 'invalid-request' });
  });

  it('a valid JWT → a jwt identity with the claims as received, in the token’s order', async () => {
    const token = await signer.signRaw('{"premium":true,"email":"test@example.com","name":"Test"}');
    const { decision } = await decide({ userJwt: token });
    expect(decision.identity).toEqual({
      authType: 'jwt',
      identifier: 'test@example.com',
      isAuthenticated: true,
      jwtClaims: { premium: true, email: 'test@example.com', name: 'Test' },
    });
    expect(Object.keys(decision.identity.jwtClaims)).toEqual(['premium', 'email', 'name']);
    expect(decision.surfaceBehavior.properties).toMatchObject({ userType: 'authenticated', testGroup100: testGroup100('test@example.com') });
  });

  const invalidTokens: { name: string; token: () => Promise<string> }[] = [
    { name: 'signed by another key', token: () => stranger.sign({ email: 'mallory@example.com' }) },
    { name: 'expired', token: () => signer.sign({ email: 'late@example.com', exp: Math.floor(Date.now() / 1000) - 3600 }) },
    { name: 'without the claim key', token: () => signer.sign({ sub: 'no-email' }) },
    { name: 'not a JWT at all', token: async () => 'not-a-token' },
  ];

  const rejectionLines = () => logLines.filter((line) => line.code === 'jwt-rejected').length;

  it.each(invalidTokens)('an invalid JWT ($name) → 401 invalid-token, logged once', async ({ token }) => {
    const before = rejectionLines();
    const error = await engineError({ userJwt: await token() });
    expect(error).toMatchObject({ status: 401, code: 'invalid-token', message: 'invalid token' });
    expect(rejectionLines()).toBe(before + 1);
  });

  it.each(invalidTokens)('an invalid JWT ($name) with createAnonymousIdentifierFallback → a minted anonymous identity, counted', async ({ token }) => {
    const before = runtime.engine.eventCounts().get('jwt-fallback-anonymous') ?? 0;
    const { decision } = await decide({ userJwt: await token(), createAnonymousIdentifierFallback: true });
    expect(decision.status).toBe('success');
    expect(decision.identity).toEqual({ authType: 'anonymous', identifier: expect.stringMatching(UUID), isAuthenticated: false, jwtClaims: {} });
    expect(runtime.engine.eventCounts().get('jwt-fallback-anonymous')).toBe(before + 1);
  });

  it('a valid JWT with the fallback flag is still the jwt identity', async () => {
    const { decision } = await decide({ userJwt: await signer.sign({ email: 'ok@example.com' }), createAnonymousIdentifierFallback: true });
    expect(decision.identity).toMatchObject({ authType: 'jwt', identifier: 'ok@example.com' });
  });
});

describe('testGroup100', () => {
  // The documented hash: the first 4 bytes of SHA-256(identifier), unsigned big-endian, mod 100.
  const documented = (id: string) => createHash('sha256').update(id).digest().readUInt32BE(0) % 100;
  const ids = Array.from({ length: 2000 }, (_, i) => `visitor-${i}@example.com`);

  it('is stable, an integer in 0..99, and the documented hash', () => {
    const groups = ids.map(testGroup100);
    expect(groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 99)).toBe(true);
    expect(ids.map(testGroup100)).toEqual(groups);
    expect(groups).toEqual(ids.map(documented));
    expect(testGroup100('test@example.com')).toBe(documented('test@example.com'));
    expect(testGroup100('')).toBe(documented(''));
  });

  it('spreads identifiers over the buckets', () => {
    expect(new Set(ids.map(testGroup100)).size).toBeGreaterThanOrEqual(95);
  });
});
