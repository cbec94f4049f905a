// Acceptance: signed headers end to end. The gateway signs with the current key; an upstream using
// the exported verifier accepts the genuine set and refuses every tampered, replayed, stale or
// retired-key variant of it (PRODUCT.md §3).
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { plangateVerifier, verifyPlangateHeaders, type VerifyInput, type VerifyOptions } from '../../src/verify/index.js';
import { behaveConfig } from './behave-config.js';
import { startStack, type Stack } from './harness.js';

const current = { id: 'k2026-11', secret: randomBytes(36).toString('base64url') };
const previous = { id: 'k2026-05', secret: randomBytes(36).toString('base64url') };
const signing = `  signing:\n    keys:\n      - { id: ${current.id}, secret: "${current.secret}" }\n      - { id: ${previous.id}, secret: "${previous.secret}" }\n`;
const verifier: VerifyOptions = { keys: [current, previous] };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(behaveConfig(signing, '', 5_000), 'gw-sign');
  const middleware = plangateVerifier(verifier);
  stack.upstream.handlers.set('/verified', (req, res) => {
    middleware(req, res, () => res.end(JSON.stringify((req as { plangate?: unknown }).plangate)));
    return true;
  });
});
afterAll(() => stack?.close());

/** A genuine request's headers, as the upstream received them. */
async function genuine(path: string, init: RequestInit = {}): Promise<VerifyInput & { headers: IncomingHttpHeaders }> {
  await fetch(stack.gateway.url + path, init);
  const seen = stack.upstream.seen.findLast((s) => s.target === path)!;
  return { method: seen.method, target: seen.target, host: seen.headers.host, headers: { ...seen.headers } };
}

function signatureTime(input: VerifyInput): number {
  return Number(/t=(\d+)/.exec(input.headers['x-plangate-signature'] as string)![1]);
}

describe('signed headers', () => {
  it('an upstream with the middleware gets the verified decision on req.plangate', async () => {
    const res = await fetch(`${stack.gateway.url}/verified?q=1`);
    expect(res.status).toBe(200);
    const plangate = (await res.json()) as { requestId: string; identity: { id: string } };
    expect(plangate).toMatchObject({
      ok: true,
      keyId: current.id,
      identity: { authType: 'anonymous', authenticated: false },
      plans: ['anyone'],
      degraded: false,
    });
    expect(plangate.requestId).toBe(stack.upstream.seen.findLast((s) => s.target === '/verified?q=1')!.headers['x-plangate-request-id']);
    expect(plangate.identity.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a dry run is signed as one: the verifier reports dryRun, and a dry-run header added later breaks the signature', async () => {
    const head = await genuine('/dry', { method: 'HEAD' });
    expect(head.headers['x-plangate-dry-run']).toBe('1');
    expect(verifyPlangateHeaders(head, verifier)).toMatchObject({ ok: true, dryRun: true });
    const real = await genuine('/real');
    expect(verifyPlangateHeaders(real, verifier)).toMatchObject({ ok: true, dryRun: false });
    const relabelled = { ...real, headers: { ...real.headers, 'x-plangate-dry-run': '1' } };
    expect(verifyPlangateHeaders(relabelled, verifier)).toEqual({ ok: false, reason: 'header-set-mismatch' });
  });

  it('the signature header has the documented shape and covers every injected header', async () => {
    const input = await genuine('/shape');
    const value = input.headers['x-plangate-signature'] as string;
    expect(value).toMatch(/^t=\d+, kid=k2026-11, h=[a-z0-9;-]+, s=[A-Za-z0-9_-]{43}$/);
    const injected = Object.keys(input.headers)
      .filter((n) => n.startsWith('x-plangate-') && n !== 'x-plangate-signature')
      .sort();
    expect(/h=([^,]+)/.exec(value)![1].split(';')).toEqual(injected);
    expect(injected).toContain('x-plangate-request-id');
    expect(injected).toContain('x-plangate-decision');
  });

  it('accepts the genuine set, within the window, with the current or a previous key listed', async () => {
    const input = await genuine('/genuine?a=1&b=%20');
    expect(verifyPlangateHeaders(input, verifier)).toMatchObject({ ok: true });
    const t = signatureTime(input) * 1000;
    expect(verifyPlangateHeaders(input, { ...verifier, now: () => t + 29_000 })).toMatchObject({ ok: true });
  });

  it('rejects a tampered, replayed, stale or retired-key set', async () => {
    const input = await genuine('/protected/page?x=1', { method: 'PUT' });
    const t = signatureTime(input) * 1000;
    const cases: [string, VerifyInput, VerifyOptions, string][] = [
      ['one injected value changed', { ...input, headers: { ...input.headers, 'x-plangate-plans': 'members' } }, verifier, 'bad-signature'],
      ['one injected header removed', { ...input, headers: { ...input.headers, 'x-plangate-degraded': undefined } }, verifier, 'header-set-mismatch'],
      ['one prefixed header added', { ...input, headers: { ...input.headers, 'x-plangate-premium--enabled': 'access=1' } }, verifier, 'header-set-mismatch'],
      ['replayed on another path', { ...input, target: '/protected/other?x=1' }, verifier, 'bad-signature'],
      ['replayed with another query', { ...input, target: '/protected/page?x=2' }, verifier, 'bad-signature'],
      ['replayed with another method', { ...input, method: 'DELETE' }, verifier, 'bad-signature'],
      ['replayed on another host', { ...input, host: 'other.example' }, verifier, 'bad-signature'],
      ['older than the window', input, { ...verifier, now: () => t + 31_000 }, 'expired'],
      ['signed with a retired key', input, { keys: [previous] }, 'unknown-key'],
      ['no signature', { ...input, headers: { ...input.headers, 'x-plangate-signature': undefined } }, verifier, 'missing-signature'],
    ];
    expect(verifyPlangateHeaders(input, verifier)).toMatchObject({ ok: true });
    for (const [what, tampered, options, reason] of cases) expect([what, verifyPlangateHeaders(tampered, options)]).toEqual([what, { ok: false, reason }]);
  });

  it('a forged request gets 401 from the middleware', async () => {
    const forged = await genuine('/genuine-for-forgery');
    const res = await fetch(`${stack.upstream.url}/verified`, {
      headers: Object.fromEntries(Object.entries(forged.headers).filter(([n]) => n.startsWith('x-plangate-')) as [string, string][]),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ status: 'error', statusCode: 401, message: 'plangate headers rejected: bad-signature', reason: 'bad-signature' });
  });

  it('a signing secret under 32 bytes, or a key id used twice, is refused at load with its key path', async () => {
    const env = { ...process.env, REDIS_URL: 'redis://x', PLANGATE_UPSTREAM: 'http://127.0.0.1:1', PLANGATE_TEST_JWT_PUBLIC_KEY: 'x.pem' };
    const short = behaveConfig(`  signing:\n    keys:\n      - { id: short, secret: "too-short-to-be-safe" }\n`);
    await expect(loadConfig(short, { env })).rejects.toThrow(/gateway\.signing\.keys\[0\]\.secret: must be at least 32 characters/);
    const twice = behaveConfig(`  signing:\n    keys:\n      - { id: k1, secret: "${current.secret}" }\n      - { id: k1, secret: "${previous.secret}" }\n`);
    await expect(loadConfig(twice, { env })).rejects.toThrow(/gateway\.signing\.keys\[1\]\.id: signing key id 'k1' is used twice/);
  });
});
