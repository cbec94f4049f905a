// A bad token sent again and again (a stale or forged JWT cookie) through the real listener: the
// signature is checked once, then the rejection is a cache lookup, for 50 requests in a row and for a
// burst of 400 at once; each request still continues as anonymous and is logged as an invalid token.
import { generateKeyPair, SignJWT } from 'jose';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JwtVerifierStats } from '../../src/engine/identity/jwt-verifier.js';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(resolve('config/plangate.yaml'), 'gw-bad-tokens');
});
afterAll(() => stack?.close());

const stats = () => stack.runtime.engine.verifier.stats!() as JwtVerifierStats;

it('a repeated bad-signature token costs one signature check, then lookups', async () => {
  const { privateKey } = await generateKeyPair('RS256');
  const forged = await new SignJWT({ email: 'victim@example.com', premium: true }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
  const send = () =>
    fetch(`${stack.gateway.url}/`, { headers: { cookie: `plangate_jwt=${forged}` } }).then(async (res) => ({ status: res.status, body: await res.text() }));
  const before = stats();
  const seenBefore = stack.upstream.seen.length;

  for (let i = 0; i < 50; i++) expect((await send()).status).toBe(200);
  const afterSequence = stats();
  expect(afterSequence.signatureChecks - before.signatureChecks).toBe(1);
  expect(afterSequence.rejectionCacheHits - before.rejectionCacheHits).toBe(49);

  const burst = await Promise.all(Array.from({ length: 400 }, send));
  expect(burst.every((r) => r.status === 200)).toBe(true);
  const afterBurst = stats();
  expect(afterBurst.signatureChecks).toBe(afterSequence.signatureChecks);
  expect(afterBurst.rejectionCacheHits - afterSequence.rejectionCacheHits).toBe(400);
  expect((afterBurst.rejected['bad-signature'] ?? 0) - (before.rejected['bad-signature'] ?? 0)).toBe(450);

  // Every one of them went upstream as an anonymous visitor, never as the victim.
  const seen = stack.upstream.seen.slice(seenBefore);
  expect(seen).toHaveLength(450);
  expect(new Set(seen.map((s) => s.headers['x-plangate-auth-type']))).toEqual(new Set(['anonymous']));
  expect(stack.logger.events.filter((e) => e.code === 'gateway-jwt-invalid' && e.fields?.reason === 'bad-signature').length).toBeGreaterThanOrEqual(450);

  // A good token is not held up by the bad one.
  const good = await stack.keys.sign({ email: 'reader@example.com' });
  await fetch(`${stack.gateway.url}/`, { headers: { cookie: `plangate_jwt=${good}` } }).then((r) => r.text());
  expect(stack.upstream.seen.at(-1)!.headers['x-plangate-auth-type']).toBe('jwt');
});
