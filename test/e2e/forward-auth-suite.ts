// Acceptance (issue: forward-auth): a real proxy (nginx or Caddy, the Debian binaries) with the config
// `plangate proxy-config` generates, in front of a real upstream, asking the real decision endpoint
// (pipeline, engine, Redis). Judged on what the client gets and on what the upstream receives. One
// suite, run by forward-auth-nginx.test.ts and forward-auth-caddy.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalizeTarget } from '../../src/gateway/canonical-path.js';
import { configInput, proxyConfig } from '../../src/forward-auth/proxy-config/index.js';
import { verifyPlangateHeaders } from '../../src/verify/index.js';
import { call, cookiePair, SIGNING_KEY, startAuthStack, type AuthStack } from '../forward-auth/harness.js';
import { rawRequest } from '../gateway/harness.js';
import { LEGITIMATE_TARGETS, PREMIUM_SPELLINGS } from '../support/hostile-paths.js';
import { startCaddy, startNginx, type ProxyProcess } from '../support/proxy-process.js';
import type { SeenRequest } from '../support/upstream.js';

export function forwardAuthSuite(kind: 'nginx' | 'caddy'): void {
  let stack: AuthStack;
  let proxy: ProxyProcess;
  let premium: string;

  beforeAll(async () => {
    stack = await startAuthStack(`forward-auth-${kind}`);
    const decisions = new URL(stack.auth.url);
    proxy = await (kind === 'nginx' ? startNginx : startCaddy)((dir, port) =>
      proxyConfig(
        kind,
        configInput(stack.runtime.model, {
          listen: { host: '127.0.0.1', port },
          decisions: { host: decisions.hostname, port: Number(decisions.port) },
          standalone: { prefix: dir },
        }),
      ),
    );
    premium = await stack.keys.sign({ email: 'reader@example.com', premium: true });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await stack?.close();
  });

  const seenSince = (mark: number): SeenRequest[] => stack.upstream.seen.slice(mark);
  const verified = (seen: SeenRequest) =>
    verifyPlangateHeaders({ method: seen.method, target: seen.target, host: seen.headers.host as string, headers: seen.headers }, { keys: [SIGNING_KEY] });

  describe(`the demo flow through ${kind}`, () => {
    it('3 free articles, the 4th gets the paywall rendered from the denial token; the upstream sees only the 3', async () => {
      const mark = stack.upstream.seen.length;
      const first = await call(`${proxy.url}/articles/one`);
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body)).toEqual({ target: '/articles/one' });
      const cookie = cookiePair(first, 'plangate_anon')!;
      expect(cookie).toBeDefined();
      expect(cookiePair(first, 'site_session')).toBe('site_session=abc'); // the site's own cookie too
      expect(first.headers['cache-control']).toBe('private, max-age=600'); // the site said public, max-age=600
      expect(first.headers['plangate-private']).toBeUndefined();
      for (const path of ['/articles/two', '/articles/three']) expect((await call(`${proxy.url}${path}`, { headers: { cookie } })).status).toBe(200);
      const fourth = await call(`${proxy.url}/articles/four`, { headers: { cookie, accept: 'text/html' } });
      expect(fourth.status).toBe(402);
      expect(fourth.headers['content-type']).toMatch(/text\/html/);
      expect(fourth.body).toContain('data-reason="consumption"'); // the paywall page, not the site
      expect(fourth.headers['cache-control']).toBe('private, no-store');
      expect(fourth.headers['plangate-denial']).toBeUndefined();

      const seen = seenSince(mark);
      expect(seen.map((s) => s.target)).toEqual(['/articles/one', '/articles/two', '/articles/three']);
      for (const request of seen) expect(verified(request).ok).toBe(true);
      expect(seen[2].headers['x-plangate-articles--enabled']).toBe('access=1; remaining=0; limit=3');
      expect(seen[0].headers['x-plangate-id']).toBe(cookie.split('=')[1].split('.')[0]);
    });

    it('premium by JWT (cookie or Bearer); a redirect denial goes through the same token', async () => {
      expect((await call(`${proxy.url}/premium/report`)).status).toBe(402);
      const mark = stack.upstream.seen.length;
      const byCookie = await call(`${proxy.url}/premium/report`, { headers: { cookie: `plangate_jwt=${premium}` } });
      const byBearer = await call(`${proxy.url}/premium/report?page=2`, { headers: { authorization: `Bearer ${premium}` } });
      expect([byCookie.status, byBearer.status]).toEqual([200, 200]);
      const seen = seenSince(mark);
      expect(seen.map((s) => s.target)).toEqual(['/premium/report', '/premium/report?page=2']);
      for (const request of seen) {
        expect(request.headers['x-plangate-plans']).toBe('registered,premium');
        expect(request.headers['x-plangate-id']).toBe('reader%40example.com');
        expect(verified(request).ok).toBe(true);
      }
      const members = await call(`${proxy.url}/members/lounge`);
      expect([members.status, members.headers.location]).toEqual([302, '/subscribe?return=%2Fmembers%2Flounge']);
    });

    it('spoofed x-plangate-* headers never stand: the injected names are replaced, others fail the signature', async () => {
      const mark = stack.upstream.seen.length;
      await rawRequest(proxy.url, '/premium/spoof', [
        'X-Plangate-Id: forged',
        'x-plangate-plans: premium',
        'X-PLANGATE-PREMIUM--ENABLED: access=1',
        'X-Plangate-Premium--Enabled: access=1',
        'X_Plangate_Authenticated: true',
        'Plangate-Denial: forged',
      ]);
      expect(seenSince(mark)).toEqual([]); // denied: the paywall, not the page

      const allowed = await rawRequest(proxy.url, '/articles/spoof', ['X-Plangate-Id: forged', 'x-plangate-plans: premium', 'X_Plangate_Degraded: true']);
      expect(allowed.status).toBe(200);
      const [seen] = seenSince(mark);
      expect(seen.headers['x-plangate-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen.headers['x-plangate-plans']).toBe('anonymous');
      expect(seen.rawHeaders.filter((h) => /^x[-_]plangate[-_]id$/i.test(h))).toHaveLength(1);
      expect(Object.keys(seen.headers).some((h) => h.includes('_'))).toBe(false);
      expect(verified(seen).ok).toBe(true);

      // A name plangate never injects: Caddy removes it by prefix; it passes stock nginx, and the
      // upstream's signature check refuses the request.
      const more = await rawRequest(proxy.url, '/articles/spoof-2', ['X-Plangate-Tier: gold']);
      expect(more.status).toBe(200);
      const last = stack.upstream.seen.at(-1)!;
      if (kind === 'caddy') {
        expect(last.headers['x-plangate-tier']).toBeUndefined();
        expect(verified(last).ok).toBe(true);
      } else {
        expect(last.headers['x-plangate-tier']).toBe('gold');
        expect(verified(last)).toEqual({ ok: false, reason: 'header-set-mismatch' });
      }
    });

    it('dry runs: HEAD is decided without recording, a prefetch of a metered page is refused and never reaches the site', async () => {
      const visit = await call(`${proxy.url}/`);
      const cookie = cookiePair(visit, 'plangate_anon')!;
      const mark = stack.upstream.seen.length;
      const head = await call(`${proxy.url}/articles/dry`, { method: 'HEAD', headers: { cookie } });
      expect([head.status, head.body]).toEqual([200, '']);
      const prefetch = await call(`${proxy.url}/articles/prefetched`, { headers: { cookie, 'sec-purpose': 'prefetch' } });
      expect(prefetch.status).toBe(503);
      expect(prefetch.headers['cache-control']).toBe('no-store');
      const seen = seenSince(mark);
      expect(seen.map((s) => [s.method, s.target, s.headers['x-plangate-dry-run']])).toEqual([['HEAD', '/articles/dry', '1']]);
      // Neither was counted: three different articles still pass.
      for (const path of ['/articles/d1', '/articles/d2', '/articles/d3'])
        expect((await call(`${proxy.url}${path}`, { headers: { cookie } })).status).toBe(200);
      expect((await call(`${proxy.url}/articles/d4`, { headers: { cookie } })).status).toBe(402);
    });
  });

  describe(`hostile spellings through ${kind}`, () => {
    it.each(PREMIUM_SPELLINGS)('%j: never reaches the upstream undecided', async (spelling) => {
      const mark = stack.upstream.seen.length;
      const anonymous = await rawRequest(proxy.url, spelling);
      expect(seenSince(mark)).toEqual([]);
      // Caddy answers a host it does not serve (absolute-form naming another host) with an empty 200 of its own.
      if (anonymous.status === 200) expect(anonymous.body).toBe('');

      const withToken = await rawRequest(proxy.url, spelling, [`Authorization: Bearer ${premium}`]);
      const seen = seenSince(mark);
      if (withToken.status !== 200 || seen.length === 0) {
        expect(seen).toEqual([]);
        return;
      }
      // Forwarded only when the spelling is canonical: the upstream got exactly what was decided.
      expect(seen).toHaveLength(1);
      const canonical = canonicalizeTarget(seen[0].target, { caseSensitive: false, allowPathParameters: false });
      expect(canonical.ok && canonical.path + canonical.query).toBe(seen[0].target);
      expect(seen[0].target.toLowerCase().startsWith('/premium/investigation')).toBe(true);
      expect(seen[0].headers['x-plangate-premium--enabled']).toBe('access=1');
      expect(verified(seen[0]).ok).toBe(true);
    });

    it.each(LEGITIMATE_TARGETS)('%s reaches the upstream byte for byte', async (target) => {
      const mark = stack.upstream.seen.length;
      const res = await rawRequest(proxy.url, target, [`Authorization: Bearer ${premium}`]);
      expect(res.status).toBe(200);
      expect(seenSince(mark).map((s) => s.target)).toEqual([target]);
    });
  });

  describe(`a burst through ${kind}`, () => {
    it('400 concurrent reads of different articles by one visitor: exactly the meter limit (3) reach the site', async () => {
      const visit = await call(`${proxy.url}/`);
      const cookie = cookiePair(visit, 'plangate_anon')!;
      const mark = stack.upstream.seen.length;
      const replies = await Promise.all(Array.from({ length: 400 }, (_, i) => call(`${proxy.url}/articles/burst-${i}`, { headers: { cookie } })));
      const statuses = new Map<number, number>();
      for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(Object.fromEntries(statuses)).toEqual({ 200: 3, 402: 397 });
      expect(seenSince(mark).filter((s) => s.target.startsWith('/articles/burst-'))).toHaveLength(3);
    }, 120_000);
  });
}
