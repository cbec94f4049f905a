// JWK Set integrations against a real local HTTP server: warm-up, rotation, unknown-kid floods, and
// outages (refused and hung) longer than the set's max age, with the last good set kept in use.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../../../src/engine/identity/jwt.js';
import type { JwtVerification } from '../../../src/engine/identity/jwt-verifier.js';
import { startJwksServer, type JwksServer } from '../../support/jwks-server.js';
import { craft, integration, sign, testClock, testKey, type TestKey } from './fixtures.js';

const COOLDOWN_MS = 200;
const MAX_AGE_MS = 1_000;
/** The outage tests' fetch timeout; others get a loose one so a slow first fetch on a busy machine passes. */
const TIMEOUT_MS = 100;
const LOOSE_TIMEOUT_MS = 5_000;
/** Liveness bound: at least 20x the outage tests' fetch timeout and never under 2 s (house rule). */
const LIVENESS_MS = 2_000;

let keyA: TestKey;
let keyB: TestKey;
let server: JwksServer;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([testKey('RS256', 'key-a'), testKey('ES256', 'key-b')]);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(options: { cacheSize?: number; timeoutMs?: number } = {}) {
  server = await startJwksServer({ keys: [keyA.jwk] });
  const clock = testClock();
  let fetchCalls = 0;
  const countingFetch: typeof fetch = (input, init) => {
    fetchCalls += 1;
    return fetch(input, init);
  };
  const verifier = createJwtVerifier(
    [
      integration({
        algorithms: ['RS256', 'ES256'],
        jwksUrl: server.url,
        jwks: { cooldownMs: COOLDOWN_MS, maxAgeMs: MAX_AGE_MS, timeoutMs: options.timeoutMs ?? LOOSE_TIMEOUT_MS },
      }),
    ],
    { now: clock.now, fetch: countingFetch, cacheSize: options.cacheSize ?? 0 },
  );
  cleanups.push(
    () => verifier.close(),
    () => server.close(),
  );
  return { verifier, clock, fetchCalls: () => fetchCalls };
}

/** Fails the test if verification takes longer than the liveness bound. */
async function withinLiveness(verification: Promise<JwtVerification>): Promise<JwtVerification> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`verification took over ${LIVENESS_MS} ms`)), LIVENESS_MS);
  });
  try {
    return await Promise.race([verification, late]);
  } finally {
    clearTimeout(timer);
  }
}

const tokenA = () => sign({ sub: 'user-1', jti: randomUUID() }, keyA, { kid: 'key-a' });
const tokenB = () => sign({ sub: 'user-1', jti: randomUUID() }, keyB, { kid: 'key-b' });
/** Unknown kids never reach a signature check, so the signature can be junk (keeps 1,000 tokens cheap). */
const unknownKidToken = () => craft({ alg: 'RS256', kid: randomUUID() }, { sub: 'user-1' }, 'AAAA');

describe('a JWK Set integration', () => {
  it('fetches the set once at warm-up and reports readiness', async () => {
    const { verifier } = await setup();
    expect(verifier.readiness()).toEqual([{ integration: 'test', ready: false, detail: expect.stringContaining('not fetched yet') }]);
    await verifier.warm();
    expect(verifier.readiness()).toEqual([{ integration: 'test', ready: true }]);
    for (let i = 0; i < 3; i++) expect(await verifier.verify(await tokenA())).toMatchObject({ ok: true, identifier: 'user-1' });
    expect(server.requests).toEqual(['/jwks.json']);
  });

  it('tries every matching key when the token has no kid', async () => {
    const { verifier } = await setup();
    const other = await testKey('RS256', 'key-c');
    server.publish({ keys: [other.jwk, keyA.jwk] });
    await verifier.warm();
    expect(await verifier.verify(await sign({ sub: 'user-1' }, keyA))).toMatchObject({ ok: true });
  });

  it('accepts a newly published kid after one refetch, and drops cached tokens whose key rotated away', async () => {
    const { verifier, clock } = await setup({ cacheSize: 100 });
    await verifier.warm();
    const oldToken = await tokenA();
    expect(await verifier.verify(oldToken)).toMatchObject({ ok: true });
    server.publish({ keys: [keyB.jwk] });
    clock.advance(COOLDOWN_MS);
    expect(await verifier.verify(await tokenB())).toMatchObject({ ok: true });
    expect(server.requests).toEqual(['/jwks.json', '/jwks.json']);
    // key-a is gone: the cached verification must not outlive it.
    expect(await verifier.verify(oldToken)).toMatchObject({ ok: false, reason: 'unknown-key' });
    expect(verifier.stats()).toMatchObject({ cacheHits: 0 });
  });

  it('a flood of 1,000 random unknown kids causes at most one refetch per cooldown', async () => {
    const { verifier, clock } = await setup();
    await verifier.warm();
    clock.advance(COOLDOWN_MS);
    const flood = () => Promise.all(Array.from({ length: 1_000 }, () => verifier.verify(unknownKidToken())));
    for (const result of await flood()) expect(result).toMatchObject({ ok: false, reason: 'unknown-key' });
    expect(server.requests.length).toBe(2);
    await flood();
    expect(server.requests.length).toBe(2);
    clock.advance(COOLDOWN_MS);
    await flood();
    expect(server.requests.length).toBe(3);
    // Sequentially too: the cooldown is not only about concurrent callers.
    for (let i = 0; i < 200; i++) await verifier.verify(unknownKidToken());
    expect(server.requests.length).toBe(3);
  });

  it('does not spend a fetch on an over-long kid', async () => {
    const { verifier, clock } = await setup();
    await verifier.warm();
    clock.advance(COOLDOWN_MS);
    const token = craft({ alg: 'RS256', kid: 'k'.repeat(10 * 1024) }, { sub: 'user-1' }, 'AAAA');
    expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'unknown-key' });
    expect(server.requests.length).toBe(1);
  });

  it('reports keys-unavailable when the first fetch fails, and retries only after the cooldown', async () => {
    const { verifier, clock, fetchCalls } = await setup();
    await server.refuse();
    await verifier.warm();
    expect(verifier.readiness()[0]).toMatchObject({ ready: false, detail: expect.stringContaining('failed') });
    expect(await verifier.verify(await tokenA())).toMatchObject({ ok: false, reason: 'keys-unavailable' });
    expect(fetchCalls()).toBe(1);
    await server.resume();
    clock.advance(COOLDOWN_MS);
    expect(await verifier.verify(await tokenA())).toMatchObject({ ok: true });
    expect(fetchCalls()).toBe(2);
    expect(verifier.readiness()[0]).toEqual({ integration: 'test', ready: true });
  });

  it('refuses a document that is not a JWK Set, keeping the last good set', async () => {
    const { verifier, clock } = await setup();
    await verifier.warm();
    server.publish({ keys: 'nope' } as never);
    clock.advance(COOLDOWN_MS);
    expect(await verifier.verify(unknownKidToken())).toMatchObject({ reason: 'unknown-key' });
    expect(verifier.readiness()[0]).toMatchObject({ ready: true, detail: expect.stringContaining('not a JWK Set') });
    expect(await verifier.verify(await tokenA())).toMatchObject({ ok: true });
  });
});

describe('closing', () => {
  it('aborts a hung fetch quietly and fetches nothing afterwards', async () => {
    server = await startJwksServer({ keys: [keyA.jwk] });
    cleanups.push(() => server.close());
    const events: string[] = [];
    const clock = testClock();
    const verifier = createJwtVerifier(
      [integration({ jwksUrl: server.url, jwks: { cooldownMs: COOLDOWN_MS, maxAgeMs: MAX_AGE_MS, timeoutMs: LOOSE_TIMEOUT_MS } })],
      {
        now: clock.now,
        logger: { event: (_level, code) => events.push(code) },
      },
    );
    await verifier.warm();
    server.hang();
    clock.advance(MAX_AGE_MS);
    expect(await verifier.verify(await tokenA())).toMatchObject({ ok: true }); // starts a background refetch, which hangs
    const waiting = verifier.verify(unknownKidToken()); // joins the hung refetch
    verifier.close();
    expect(await withinLiveness(waiting)).toMatchObject({ ok: false, reason: 'unknown-key' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(MAX_AGE_MS);
    await verifier.verify(await tokenA());
    expect(server.requests).toEqual(['/jwks.json', '/jwks.json']);
    expect(events).not.toContain('jwks-fetch-failed');
  });
});

describe('a JWK Set outage longer than the set max age', () => {
  for (const outage of ['refusing connections', 'hung'] as const) {
    it(`keeps verifying under the last good set with the server ${outage}, one fetch attempt per cooldown at most`, async () => {
      const { verifier, clock, fetchCalls } = await setup({ timeoutMs: TIMEOUT_MS });
      // The short timeout could cut a first fetch on a busy machine: warm until the set is in.
      for (let i = 0; i < 5 && !verifier.readiness()[0]!.ready; i++) await verifier.warm();
      expect(verifier.readiness()[0]).toEqual({ integration: 'test', ready: true });
      if (outage === 'hung') server.hang();
      else await server.refuse();
      const attemptsBefore = fetchCalls();
      const stepMs = 100;
      const steps = 30; // 3 s of gateway time, three times the max age
      for (let i = 0; i < steps; i++) {
        clock.advance(stepMs);
        expect(await withinLiveness(verifier.verify(await tokenA()))).toMatchObject({ ok: true });
        // An unknown kid during the outage is refused within the bound, not left waiting on the dead server.
        if (i % 5 === 0) expect(await withinLiveness(verifier.verify(unknownKidToken()))).toMatchObject({ ok: false, reason: 'unknown-key' });
      }
      const attempts = fetchCalls() - attemptsBefore;
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(Math.ceil((steps * stepMs) / COOLDOWN_MS));
      if (outage === 'hung') expect(server.requests.length - 1).toBe(attempts);
      // Let a hung attempt time out, then readiness tells the operator what is going on.
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 3));
      expect(verifier.readiness()[0]).toMatchObject({ ready: true, detail: expect.stringMatching(/failed: .*serving the set fetched at/) });
    });
  }
});
