import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../../src/engine/identity/jwt.js';
import type { JwtVerifier } from '../../src/engine/identity/jwt-verifier.js';
import { AnonymousIds } from '../../src/engine/identity/anonymous-ids.js';
import { meteringNetwork } from '../../src/gateway/client-ip.js';
import { bearerToken, resolveGatewayIdentity, type IdentitySettings } from '../../src/gateway/identity.js';
import { recordingLogger } from './harness.js';

let verifier: JwtVerifier;
let sign: (claims: Record<string, unknown>) => Promise<string>;
beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  verifier = createJwtVerifier([
    { name: 'Test', algorithms: ['RS256'], claimKey: 'sub', clockToleranceSeconds: 30, pemKeys: [{ pem: await exportSPKI(publicKey) }] },
  ]);
  sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
});

function settings(overrides: Partial<IdentitySettings> = {}) {
  const logger = recordingLogger();
  return {
    logger,
    settings: {
      jwtCookie: 'jwt',
      anonymousCookie: 'anon',
      anonymousMetering: 'cookie',
      invalidJwt: 'anonymous',
      verifier,
      anonymousIds: ids,
      newIdAllowed: async () => true,
      logger,
      ...overrides,
    } as IdentitySettings,
  };
}

const ids = new AnonymousIds([
  { id: 'k2', secret: 'the-current-anonymous-id-secret-0123456789' },
  { id: 'k1', secret: 'the-previous-anonymous-id-secret-012345678' },
]);
const base = { clientIp: '203.0.113.7', https: false };
const ANON = '3f1b2c4d-1111-4222-8333-444455556666';
const SIGNED = ids.sign(ANON);

describe('resolveGatewayIdentity', () => {
  it('prefers the cookie over Bearer', async () => {
    const { settings: s } = settings();
    const result = await resolveGatewayIdentity(s, {
      ...base,
      cookies: { jwt: await sign({ sub: 'from-cookie' }) },
      authorization: `Bearer ${await sign({ sub: 'from-bearer' })}`,
    });
    expect(result).toMatchObject({ ok: true, identity: { authType: 'jwt', identifier: 'from-cookie', isAuthenticated: true } });
  });

  it('falls back to Bearer when the cookie token is invalid, logging the cookie', async () => {
    const { settings: s, logger } = settings();
    const result = await resolveGatewayIdentity(s, { ...base, cookies: { jwt: 'garbage' }, authorization: `bearer ${await sign({ sub: 'b' })}` });
    expect(result).toMatchObject({ ok: true, identity: { identifier: 'b' } });
    expect(logger.events.map((e) => [e.code, e.fields?.source])).toEqual([['gateway-jwt-invalid', 'cookie']]);
  });

  it('an invalid token reads as anonymous by default, or is rejected when configured', async () => {
    const inputs = { ...base, cookies: { anon: SIGNED }, authorization: 'Bearer nope' };
    expect(await resolveGatewayIdentity(settings().settings, inputs)).toEqual({
      ok: true,
      identity: { authType: 'anonymous', identifier: ANON, isAuthenticated: false, jwtClaims: {} },
    });
    expect(await resolveGatewayIdentity(settings({ invalidJwt: 'reject' }).settings, inputs)).toEqual({ ok: false, reason: 'invalid-token' });
  });

  it('keeps a valid anonymous cookie and replaces an invalid one', async () => {
    const kept = await resolveGatewayIdentity(settings().settings, { ...base, cookies: { anon: SIGNED }, authorization: undefined });
    expect(kept).toEqual({ ok: true, identity: expect.objectContaining({ identifier: ANON }) });
    for (const forged of ['forged<script>', ANON]) {
      const replaced = await resolveGatewayIdentity(settings().settings, { ...base, cookies: { anon: forged }, authorization: undefined });
      if (!replaced.ok) throw new Error('expected ok');
      expect(replaced.identity.identifier).not.toBe(forged);
      expect(replaced.setCookie).toBe(`anon=${ids.sign(replaced.identity.identifier)}; Max-Age=34560000; Path=/; HttpOnly; SameSite=Lax`);
    }
  });

  it('sets Secure when the visitor came over HTTPS', async () => {
    const result = await resolveGatewayIdentity(settings().settings, { ...base, https: true, cookies: {}, authorization: undefined });
    expect(result.ok && result.setCookie).toMatch(/; Secure/);
  });

  it('cookie+ip: a cookie-less visitor gets the id of their network', async () => {
    const { settings: s } = settings({ anonymousMetering: 'cookie+ip' });
    const a = await resolveGatewayIdentity(s, { ...base, clientIp: '2001:db8:1:200::1', cookies: {}, authorization: undefined });
    const b = await resolveGatewayIdentity(s, { ...base, clientIp: '2001:db8:1:2ff::9', cookies: {}, authorization: undefined });
    expect(a.ok && a.identity.identifier).toBe(ids.forNetwork(meteringNetwork('2001:db8:1:200::1')));
    expect(a.ok && a.identity.identifier).toBe(b.ok && b.identity.identifier);
  });

  describe('the flood budget for new ids (issue 13)', () => {
    const network = ids.forNetwork(meteringNetwork(base.clientIp));

    it('asks the budget with the network’s keyed id only when minting; within it, a fresh id and its cookie', async () => {
      const asked: string[] = [];
      const { settings: s } = settings({ newIdAllowed: async (id) => (asked.push(id), true) });
      const fresh = await resolveGatewayIdentity(s, { ...base, cookies: {}, authorization: undefined });
      expect(fresh.ok && fresh.identity.identifier).not.toBe(network);
      expect(fresh.ok && fresh.setCookie).toMatch(/^anon=/);
      expect(asked).toEqual([network]);
      // A returning visitor, a stale cookie re-issued, a JWT visitor: no question asked.
      await resolveGatewayIdentity(s, { ...base, cookies: { anon: SIGNED }, authorization: undefined });
      const stale = new AnonymousIds([{ id: 'k1', secret: 'the-previous-anonymous-id-secret-012345678' }]).sign(ANON);
      await resolveGatewayIdentity(s, { ...base, cookies: { anon: stale }, authorization: undefined });
      await resolveGatewayIdentity(s, { ...base, cookies: {}, authorization: `Bearer ${await sign({ sub: 'reader' })}` });
      expect(asked).toEqual([network]);
    });

    it('over it: metered under the network’s id, and no cookie (a later visit may get a fresh id)', async () => {
      const { settings: s } = settings({ newIdAllowed: async () => false });
      const over = await resolveGatewayIdentity(s, { ...base, cookies: {}, authorization: undefined });
      expect(over).toEqual({ ok: true, identity: { authType: 'anonymous', identifier: network, isAuthenticated: false, jwtClaims: {} } });
    });

    it('cookie+ip never asks: it mints no new ids', async () => {
      const asked: string[] = [];
      const { settings: s } = settings({ anonymousMetering: 'cookie+ip', newIdAllowed: async (id) => (asked.push(id), true) });
      await resolveGatewayIdentity(s, { ...base, cookies: {}, authorization: undefined });
      expect(asked).toEqual([]);
    });
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer   abc', 'abc'],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
    ['BEARER\tabc \t', 'abc'],
    ['bEaReR x', 'x'],
    ['Bearerabc', undefined],
    ['Bearer    ', undefined],
    ['Bearer a\tb', undefined],
    [' Bearer abc', undefined],
    ['Bearex abc', undefined],
    ['', undefined],
  ])('%j → %j', (header, token) => expect(bearerToken(header)).toBe(token));

  it('agrees with the regex it replaced on every short header over a small alphabet', () => {
    const reference = (header: string) => /^bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(header)?.[1];
    const alphabet = [' ', '\t', 'a', '.'];
    const tails = [''];
    for (let length = 1; length <= 5; length++) for (const tail of tails.filter((t) => t.length === length - 1)) for (const c of alphabet) tails.push(tail + c);
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'Bearer ', 'Basic ']) {
      for (const tail of tails) expect(bearerToken(scheme + tail), JSON.stringify(scheme + tail)).toBe(reference(scheme + tail));
    }
  });
});
