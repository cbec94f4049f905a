// The decision endpoint, spoken to the way each proxy speaks to it: the requests nginx's auth_request,
// Traefik's forwardAuth, Caddy's forward_auth and Envoy's ext_authz (HTTP service) send, replayed over
// real HTTP against the real pipeline, engine and Redis. nginx and Caddy themselves run in e2e tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerSet } from '../../src/forward-auth/proxy-config/input.js';
import { configInput } from '../../src/forward-auth/proxy-config/index.js';
import { verifyPlangateHeaders } from '../../src/verify/index.js';
import { call, cookiePair, injected, SIGNING_KEY, startAuthStack, type AuthStack, type Reply } from './harness.js';

let stack: AuthStack;
beforeAll(async () => {
  stack = await startAuthStack('forward-auth-contracts');
});
afterAll(async () => {
  await stack?.close();
});

const verify = (reply: Reply, method: string, target: string, host: string) =>
  verifyPlangateHeaders({ method, target, host, headers: injected(reply) }, { keys: [SIGNING_KEY] });

/** Traefik and Caddy send the same request: GET to the endpoint, the original in X-Forwarded-*. */
function forwardedAsk(proxy: 'traefik' | 'caddy', method: string, uri: string, extra: Record<string, string> = {}) {
  return call(`${stack.auth.url}/auth/${proxy}`, {
    headers: {
      host: '127.0.0.1',
      'x-forwarded-method': method,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'news.example',
      'x-forwarded-uri': uri,
      'x-forwarded-for': '203.0.113.7',
      accept: 'text/html',
      ...extra,
    },
  });
}

describe.each(['traefik', 'caddy'] as const)('%s forwardAuth / forward_auth', (proxy) => {
  it('3 free articles, then the paywall as the answer itself (non-2xx goes to the client as is)', async () => {
    const first = await forwardedAsk(proxy, 'GET', '/articles/one?ref=home', { 'x-plangate-id': 'forged', 'x-plangate-plans': 'premium' });
    expect(first.status).toBe(200);
    expect(first.body).toBe('');
    const cookie = cookiePair(first, 'plangate_anon')!;
    expect(first.headers['set-cookie']![0]).toMatch(/HttpOnly/i);
    expect(first.headers['set-cookie']![0]).toMatch(/Secure/i); // X-Forwarded-Proto: https, from a trusted proxy
    expect(first.headers['plangate-private']).toBe('1');
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.headers['x-plangate-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.headers['x-plangate-plans']).toBe('anonymous');
    expect(first.headers['x-plangate-articles--enabled']).toBe('access=1; remaining=2; limit=3');
    // Signed over what the upstream receives: the original method, host and target.
    const verified = verify(first, 'GET', '/articles/one?ref=home', 'news.example');
    expect(verified.ok).toBe(true);
    expect(verify(first, 'GET', '/premium/x', 'news.example').ok).toBe(false);
    // The generated proxy configs copy exactly the names plangate can send.
    const names = headerSet(configInput(stack.runtime.model)).upstream;
    for (const name of Object.keys(injected(first))) expect(names).toContain(name);

    for (const path of ['/articles/two', '/articles/three']) expect((await forwardedAsk(proxy, 'GET', path, { cookie })).status).toBe(200);
    const fourth = await forwardedAsk(proxy, 'GET', '/articles/four', { cookie });
    expect(fourth.status).toBe(402);
    expect(fourth.headers['content-type']).toMatch(/text\/html/);
    expect(fourth.body).toContain('data-reason="consumption"'); // the paywall page, not the site
    expect(fourth.headers['x-plangate-id']).toBeUndefined();
    // Re-reading a counted article stays free.
    expect((await forwardedAsk(proxy, 'GET', '/articles/two', { cookie })).status).toBe(200);
  });

  it('reads the original method: HEAD and a prefetch are dry runs, a guarded prefetch is refused', async () => {
    const head = await forwardedAsk(proxy, 'HEAD', '/articles/head-only');
    expect(head.status).toBe(200);
    expect(head.headers['x-plangate-dry-run']).toBe('1');
    const cookie = cookiePair(head, 'plangate_anon')!;
    // Nothing was recorded: three real reads still pass after it.
    for (const path of ['/articles/h1', '/articles/h2', '/articles/h3']) expect((await forwardedAsk(proxy, 'GET', path, { cookie })).status).toBe(200);
    const prefetch = await forwardedAsk(proxy, 'GET', '/articles/next', { 'sec-purpose': 'prefetch' });
    expect(prefetch.status).toBe(503);
    expect(prefetch.headers['cache-control']).toBe('no-store');
  });

  it('premium by JWT (cookie or Bearer), signed headers carry the identity', async () => {
    const token = await stack.keys.sign({ email: 'reader@example.com', premium: true });
    const denied = await forwardedAsk(proxy, 'GET', '/premium/report');
    expect(denied.status).toBe(402);
    const bearer = await forwardedAsk(proxy, 'GET', '/premium/report', { authorization: `Bearer ${token}` });
    expect(bearer.status).toBe(200);
    expect(bearer.headers['x-plangate-id']).toBe('reader%40example.com');
    expect(bearer.headers['x-plangate-plans']).toBe('registered,premium');
    expect(verify(bearer, 'GET', '/premium/report', 'news.example').ok).toBe(true);
  });

  it('refuses a target the proxy would forward in another spelling than the one decided', async () => {
    for (const uri of ['/articles//one', '/static/../premium/x', '/premium/%78', '/PREMIUM/./x']) {
      const reply = await forwardedAsk(proxy, 'GET', uri, { accept: 'application/json' });
      expect(reply.status, uri).toBe(400);
      expect(JSON.parse(reply.body).code).toBe('path-not-canonical');
    }
    expect((await forwardedAsk(proxy, 'GET', '/premium/a%2fb')).status).toBe(400);
  });

  it('says what is missing when the proxy sent no original request', async () => {
    const reply = await call(`${stack.auth.url}/auth/${proxy}`, { headers: { accept: 'application/json' } });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'forward-auth-bad-request' });
  });
});

describe('envoy ext_authz (HTTP service)', () => {
  const ask = (method: string, path: string, extra: Record<string, string> = {}) =>
    call(`${stack.auth.url}/auth/envoy${path}`, {
      method,
      headers: { host: 'news.example', 'content-length': '0', 'x-forwarded-proto': 'http', 'x-forwarded-for': '198.51.100.4', ...extra },
    });

  it('the original path after the prefix, the original method; allowed is 200, never 204', async () => {
    const allowed = await ask('POST', '/articles/e1?x=1');
    expect(allowed.status).toBe(200);
    expect(allowed.headers['x-plangate-articles--enabled']).toBe('access=1; remaining=2; limit=3');
    expect(verify(allowed, 'POST', '/articles/e1?x=1', 'news.example').ok).toBe(true);
    expect(allowed.headers['set-cookie']![0]).not.toMatch(/Secure/i);
    const root = await ask('GET', '');
    expect(root.status).toBe(200);
    expect(verify(root, 'GET', '/', 'news.example').ok).toBe(true);
  });

  it('a denial is the answer Envoy sends to the client: status, headers and body', async () => {
    const denied = await ask('GET', '/members/area');
    expect(denied.status).toBe(302);
    expect(denied.headers.location).toBe('/subscribe?return=%2Fmembers%2Farea');
    const paywall = await ask('GET', '/premium/x', { accept: 'application/json' });
    expect(paywall.status).toBe(402);
    expect(JSON.parse(paywall.body)).toMatchObject({ status: 'denied', path: '/premium/x' });
  });
});

describe('nginx auth_request', () => {
  const ask = (method: string, uri: string, extra: Record<string, string> = {}) =>
    call(`${stack.auth.url}/auth/nginx`, {
      headers: { host: 'news.example', 'x-original-method': method, 'x-original-uri': uri, 'x-forwarded-for': '192.0.2.10', 'x-forwarded-proto': 'http', ...extra },
    });
  const render = (token: string | undefined, method = 'GET') =>
    call(`${stack.auth.url}/auth/nginx/denied`, { method, headers: token === undefined ? {} : { 'plangate-denial': token } });

  it('allowed: 200 with the headers; denied: 403 with a denial token the named location renders without deciding', async () => {
    const allowed = await ask('GET', '/articles/n1');
    expect(allowed.status).toBe(200);
    expect(verify(allowed, 'GET', '/articles/n1', 'news.example').ok).toBe(true);

    const denied = await ask('GET', '/premium/n');
    expect(denied.status).toBe(403); // nginx passes 2xx, 401 and 403 only
    expect(denied.body).toBe('');
    const token = denied.headers['plangate-denial'] as string;
    expect(token.length).toBeGreaterThan(20);

    const storeCalls = stack.runtime.store.health.commandCount;
    for (let i = 0; i < 3; i++) {
      const page = await render(token);
      expect(page.status).toBe(402);
      expect(page.body).toContain('data-reason="requirement"');
      expect(page.headers['cache-control']).toBe('private, no-store');
      expect(cookiePair(page, 'plangate_anon')).toBeDefined(); // the new visitor's cookie rides in the token
    }
    expect(stack.runtime.store.health.commandCount).toBe(storeCalls);
    const head = await render(token, 'HEAD');
    expect([head.status, head.body]).toEqual([402, '']);
  });

  it('a missing, altered or foreign denial token renders nothing but an error', async () => {
    const denied = await ask('GET', '/premium/n2');
    const token = denied.headers['plangate-denial'] as string;
    const [payload, mac] = token.split('.');
    const altered = `${payload.slice(0, 5)}${payload[5] === 'A' ? 'B' : 'A'}${payload.slice(6)}.${mac}`;
    for (const bad of [undefined, altered, `${payload}.${'A'.repeat(43)}`, 'garbage']) {
      const page = await render(bad);
      expect(page.status).toBe(500);
      expect(page.body).not.toContain('data-reason');
    }
    expect(stack.logger.events.some((e) => e.code === 'denial-token-invalid')).toBe(true);
  });

  it('every answer of plangate goes through the token: a redirect, a refused spelling, a refused prefetch', async () => {
    const redirect = await render((await ask('GET', '/members/x')).headers['plangate-denial'] as string);
    expect([redirect.status, redirect.headers.location]).toEqual([302, '/subscribe?return=%2Fmembers%2Fx']);
    const spelling = await ask('GET', '/articles/%6e1');
    expect(spelling.status).toBe(403);
    expect((await render(spelling.headers['plangate-denial'] as string)).status).toBe(400);
    const prefetch = await ask('GET', '/articles/p', { purpose: 'prefetch' });
    expect((await render(prefetch.headers['plangate-denial'] as string)).status).toBe(503);
  });
});

describe('who may ask', () => {
  it('original-request headers are trusted only from forwardAuth.proxies: anyone else gets 403 and no decision', async () => {
    const other = await startAuthStack('forward-auth-untrusted', { PLANGATE_FORWARD_AUTH_PROXY: '192.0.2.1' });
    try {
      const calls = other.runtime.store.health.commandCount;
      const reply = await call(`${other.auth.url}/auth/traefik`, {
        headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/articles/a', 'x-forwarded-host': 'news.example', accept: 'application/json' },
      });
      expect(reply.status).toBe(403);
      expect(JSON.parse(reply.body).code).toBe('forward-auth-untrusted-peer');
      expect(reply.headers['x-plangate-id']).toBeUndefined();
      expect(other.runtime.store.health.commandCount).toBe(calls);
      expect(other.logger.events.some((e) => e.code === 'forward-auth-untrusted-peer')).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('unknown paths are 404', async () => {
    expect((await call(`${stack.auth.url}/auth/haproxy`)).status).toBe(404);
    expect((await call(`${stack.auth.url}/articles/a`)).status).toBe(404);
  });
});

describe('the denial token', () => {
  it('expires after 60 s, opens under a previous key during rotation, and is not made for an answer too large to carry', async () => {
    const { sealDenial, openDenial, DENIAL_TOKEN_TTL_SECONDS } = await import('../../src/forward-auth/denial-token.js');
    const old = { id: 'old', secret: 'the-previous-denial-key-of-at-least-32-bytes' };
    const current = { id: 'new', secret: 'the-current-denial-key-of-at-least-32-bytes!' };
    const answer = { head: { status: 402, headers: { 'content-type': 'text/html' } }, body: '<p>paywall</p>' };
    const now = Date.now();
    const token = sealDenial(answer, [old], now)!;
    expect(openDenial(token, [current, old], now)).toEqual(answer);
    expect(openDenial(token, [current], now)).toBeUndefined();
    expect(openDenial(token, [old], now + (DENIAL_TOKEN_TTL_SECONDS + 1) * 1000)).toBeUndefined();
    const random = Array.from({ length: 12_000 }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90))).join('');
    expect(sealDenial({ ...answer, body: random }, [current], now)).toBeUndefined();
  });
});
