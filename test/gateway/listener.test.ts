// Acceptance: the demo config (config/plangate.yaml) through the real listener, engine and Redis,
// in front of a test upstream that sends its own Set-Cookie and public Cache-Control.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieFrom, startStack, UPSTREAM_COOKIE, type Stack } from './harness.js';

const DEMO = resolve('config/plangate.yaml');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(DEMO, 'gw-demo');
});
afterAll(() => stack?.close());

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(stack.gateway.url + path, { headers: { ...html, ...headers }, method, redirect: 'manual' });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

function seenFor(path: string) {
  return stack.upstream.seen.filter((s) => s.target === path);
}

/** A visitor with a cookie jar: keeps the anonymous cookie the gateway sets. */
function visitor(extra: Record<string, string> = {}) {
  let anon: string | undefined;
  return {
    get anon() {
      return anon;
    },
    async get(path: string, headers: Record<string, string> = {}, method = 'GET') {
      const cookie = [anon, extra.cookie].filter(Boolean).join('; ');
      const res = await get(path, { ...extra, ...headers, ...(cookie ? { cookie } : {}) }, method);
      anon = cookieFrom(res.headers.getSetCookie(), 'plangate_anon') ?? anon;
      return res;
    },
  };
}

describe('the demo flow', () => {
  it('anonymous: 3 articles, re-reading is free, the 4th gets the paywall and never reaches upstream', async () => {
    const reader = visitor();
    const first = await reader.get('/articles/one');
    expect(first.status).toBe(200);
    // The upstream's own cookie and ours, side by side; caching made private.
    const setCookies = first.headers.getSetCookie();
    expect(setCookies).toContain(UPSTREAM_COOKIE);
    expect(setCookies.find((c) => c.startsWith('plangate_anon='))).toMatch(
      /^plangate_anon=[0-9a-f-]{36}\.[\w-]{43}; Max-Age=34560000; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    expect(first.headers.get('cache-control')).toBe('private, max-age=600');

    expect((await reader.get('/articles/two')).status).toBe(200);
    expect((await reader.get('/articles/three')).status).toBe(200);
    expect((await reader.get('/articles/one')).status).toBe(200); // re-read: free
    const before = stack.upstream.seen.length;

    const fourth = await reader.get('/articles/four');
    expect(fourth.status).toBe(402);
    expect(fourth.headers.get('content-type')).toContain('text/html');
    expect(fourth.body).toContain('You have reached your free limit');
    expect(fourth.body).toContain('href="/plans?return=%2Farticles%2Ffour"');
    const api = await reader.get('/articles/four', { accept: 'application/json' });
    expect(api.status).toBe(402);
    expect(JSON.parse(api.body)).toMatchObject({ status: 'denied', statusCode: 402, path: '/articles/four' });
    // The demo's articles are soft-paywalled: a denied read is forwarded, marked denied, to be cut;
    // this upstream answers JSON, which cannot be cut, so the visitor got the paywall instead.
    expect(stack.upstream.seen.slice(before).map((s) => [s.target, s.headers['x-plangate-denied']])).toEqual([
      ['/articles/four', 'consumption'],
      ['/articles/four', 'consumption'],
    ]);

    // What the upstream saw on the first read.
    const seen = seenFor('/articles/one')[0].headers;
    expect(seen).toMatchObject({
      'x-plangate-id': reader.anon!.split('=')[1].split('.')[0], // the id; its signature stays in the cookie
      'x-plangate-auth-type': 'anonymous',
      'x-plangate-authenticated': 'false',
      'x-plangate-plans': 'anonymous',
      'x-plangate-articles--enabled': 'access=1; remaining=2; limit=3',
      'x-plangate-premium--enabled': 'access=0',
      'x-plangate-degraded': 'false',
    });
    expect(JSON.parse(Buffer.from(seen['x-plangate-surface-properties'] as string, 'base64url').toString())).toEqual({ reader: 'anonymous', articlesLeft: 2 });
  });

  it('anonymous visitors cannot read the premium section', async () => {
    const reader = visitor();
    const res = await reader.get('/premium/investigation');
    expect(res.status).toBe(402);
    expect(reader.anon).toBeDefined(); // the first visit still gets its id
    expect(seenFor('/premium/investigation')).toEqual([]);
  });

  it('a registered JWT (cookie) reads 10 articles a month, not the premium section', async () => {
    const token = await stack.keys.sign({ email: 'reader@example.com' });
    const reader = visitor({ cookie: `plangate_jwt=${token}` });
    for (let i = 1; i <= 10; i++) expect((await reader.get(`/articles/registered-${i}`)).status).toBe(200);
    expect((await reader.get('/articles/registered-11')).status).toBe(402);
    expect((await reader.get('/premium/investigation')).status).toBe(402);
    expect(reader.anon).toBeUndefined(); // no anonymous cookie for an identified reader
    expect(seenFor('/articles/registered-10')[0].headers).toMatchObject({
      'x-plangate-id': 'reader%40example.com',
      'x-plangate-auth-type': 'jwt',
      'x-plangate-authenticated': 'true',
      'x-plangate-plans': 'registered',
      'x-plangate-articles--enabled': 'access=1; remaining=0; limit=10',
    });
  });

  it('a premium JWT (Bearer) reads everything, the premium section included', async () => {
    const token = await stack.keys.sign({ email: 'vip@example.com', premium: true });
    const reader = visitor({ authorization: `Bearer ${token}` });
    for (let i = 1; i <= 12; i++) expect((await reader.get(`/articles/vip-${i}`)).status).toBe(200);
    expect((await reader.get('/premium/investigation')).status).toBe(200);
    expect(seenFor('/premium/investigation')[0].headers).toMatchObject({
      'x-plangate-id': 'vip%40example.com',
      'x-plangate-plans': 'registered,premium',
      'x-plangate-premium--enabled': 'access=1',
      'x-plangate-articles--enabled': 'access=1',
    });
    // Credentials are forwarded unchanged by default.
    expect(seenFor('/premium/investigation')[0].headers.authorization).toBe(`Bearer ${token}`);
  });

  it('an invalid JWT reads as anonymous, and is logged with a stable code', async () => {
    const reader = visitor({ cookie: 'plangate_jwt=not.a.token' });
    expect((await reader.get('/articles/invalid-jwt')).status).toBe(200);
    expect(seenFor('/articles/invalid-jwt')[0].headers['x-plangate-auth-type']).toBe('anonymous');
    expect(stack.logger.events.some((e) => e.code === 'gateway-jwt-invalid' && e.fields?.source === 'cookie')).toBe(true);
  });

  it('bypass routes are forwarded undecided, with client headers still stripped', async () => {
    const res = await get('/static/style.css', { 'x-plangate-plans': 'premium' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=600'); // not decided: left alone
    expect(res.headers.getSetCookie()).toEqual([UPSTREAM_COOKIE]);
    const seen = seenFor('/static/style.css')[0].headers;
    // Only the gateway's own request id, never the client's claim.
    expect(Object.keys(seen).filter((h) => h.startsWith('x-plangate'))).toEqual(['x-plangate-request-id']);
    expect(seen['x-plangate-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('dry runs and concurrency', () => {
  it('HEAD, CORS preflights and prefetches consume nothing; prefetches of articles are refused', async () => {
    const reader = visitor();
    await reader.get('/'); // get an id without consuming
    const preflight = { origin: 'https://other.example', 'access-control-request-method': 'GET' };
    for (let i = 1; i <= 4; i++) {
      expect((await reader.get(`/articles/dry-${i}`, {}, 'HEAD')).status).toBe(200);
      expect((await reader.get(`/articles/dry-${i}`, { 'sec-purpose': 'prefetch' })).status).toBe(503);
      expect((await reader.get(`/articles/dry-${i}`, { purpose: 'prefetch' })).status).toBe(503);
      expect((await reader.get(`/articles/dry-${i}`, preflight, 'OPTIONS')).status).toBe(200);
    }
    expect(seenFor('/articles/dry-1').map((s) => [s.method, s.headers['x-plangate-dry-run']])).toEqual([
      ['HEAD', '1'],
      ['OPTIONS', '1'],
    ]);
    expect((await reader.get('/articles/real-1')).status).toBe(200);
    expect((await reader.get('/articles/real-2')).status).toBe(200);
    expect((await reader.get('/articles/real-3')).status).toBe(200);
    expect((await reader.get('/articles/real-4')).status).toBe(402);
  });

  it('an OPTIONS request that is not a CORS preflight is a real read', async () => {
    const reader = visitor();
    await reader.get('/');
    expect((await reader.get('/articles/options-1', {}, 'OPTIONS')).status).toBe(200);
    expect((await reader.get('/articles/options-2', { origin: 'https://other.example' }, 'OPTIONS')).status).toBe(200);
    expect((await reader.get('/articles/options-3')).status).toBe(200);
    expect((await reader.get('/articles/options-4')).status).toBe(402);
  });

  it('30 parallel first reads from one visitor grant exactly 3', async () => {
    const reader = visitor();
    await reader.get('/');
    const before = stack.upstream.seen.length;
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => reader.get(`/articles/parallel-${i}`)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 402)).toHaveLength(27);
    // Only 3 reached the upstream as granted; the others were forwarded marked denied (a soft paywall) and answered 402.
    const seen = stack.upstream.seen.slice(before);
    expect(seen.filter((s) => s.headers['x-plangate-denied'] === undefined)).toHaveLength(3);
    expect(seen.filter((s) => s.headers['x-plangate-denied'] === 'consumption')).toHaveLength(27);
  });
});
