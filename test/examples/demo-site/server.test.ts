// The demo site behind the real gateway (config/plangate.yaml): its pages show the decoded headers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureTestKeys } from '../../../src/cli/keys.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../../src/gateway/listener.js';
import { createLogger } from '../../../src/ops/logger.js';
import { createRuntime, type Runtime } from '../../../src/ops/runtime.js';
import { TEST_ANONYMOUS_ID_KEY } from '../../support/anonymous-ids.js';
import { startDemoSite } from '../../../examples/demo-site/server.js';
import { testKeys } from '../../gateway/harness.js';

let site: Awaited<ReturnType<typeof startDemoSite>>;
let runtime: Runtime;
let gateway: RunningGateway;
let sign: (claims: Record<string, unknown>) => Promise<string>;

beforeAll(async () => {
  site = await startDemoSite({ port: 0 });
  const keys = await testKeys();
  sign = keys.sign;
  // In-memory meters: the default `npm start` runs without Redis.
  const model = await loadConfig(resolve('config/plangate.yaml'), {
    env: { ...process.env, REDIS_URL: '', PLANGATE_UPSTREAM: site.url, PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile },
    devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY,
  });
  runtime = await createRuntime(model, { logger: createLogger({ level: 'silent' }) });
  gateway = await startGateway({ model, engine: runtime.engine, logger: { event() {} }, listen: { host: '127.0.0.1', port: 0 } });
});
afterAll(async () => {
  await gateway?.close();
  await runtime?.close();
  await site?.close();
});

describe('the demo site', () => {
  it('shows the decoded plangate headers on an article', async () => {
    const res = await fetch(`${gateway.url}/articles/river-cleanup`);
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain('Volunteers clean up the river');
    expect(page).toContain('<td>x-plangate-plans</td><td><pre>anonymous</pre></td>');
    expect(page).toContain('access=1; remaining=2; limit=3');
    expect(page).toContain('&quot;articlesLeft&quot;: 2');
  });

  it('serves the premium section to a premium reader', async () => {
    const token = await sign({ email: 'demo@example.com', premium: true });
    const res = await fetch(`${gateway.url}/premium/investigation`, { headers: { cookie: `plangate_jwt=${token}` } });
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain('where the money went');
    expect(page).toContain('<td>x-plangate-id</td><td><pre>demo@example.com</pre></td>');
  });

  it('an article with extra segments is metered, and the site answers 404 for it', async () => {
    // A reader with 3 free reads spent: a deeper path is still under the article route.
    let cookie = '';
    for (const slug of ['city-council-budget', 'new-library', 'cafe-guide']) {
      const res = await fetch(`${gateway.url}/articles/${slug}`, { headers: { cookie } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      cookie ||= res.headers.getSetCookie()[0].split(';')[0];
    }
    for (const deeper of ['/articles/football-final/x', '/articles/football-final/x/y', '/Articles/football-final/print']) {
      const res = await fetch(gateway.url + deeper, { headers: { cookie } });
      expect(res.status).toBe(402);
      expect(await res.text()).not.toContain('A late goal');
    }
    // And the site itself never serves an article below its own path.
    expect((await fetch(`${site.url}/articles/football-final/x`)).status).toBe(404);
    expect((await fetch(`${site.url}/articles/football-final/`)).status).toBe(200);
    expect((await fetch(`${site.url}/articles/constructor`)).status).toBe(404);
  });

  it('says so when a page was not reached through the gateway', async () => {
    expect(await (await fetch(`${site.url}/`)).text()).toContain('No plangate headers');
  });
});

describe("the demo site's sign-in", () => {
  it('sets the JWT cookie from the form and returns to a local path only', async () => {
    const keys = await ensureTestKeys(mkdtempSync(join(tmpdir(), 'plangate-demo-signin-')));
    const own = await startDemoSite({ port: 0, privateKeyFile: keys.privateKeyFile });
    try {
      const post = (form: Record<string, string>) =>
        fetch(`${own.url}/signin`, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' });
      const ok = await post({ email: 'a@example.com', premium: '1', return: '/articles/new-library' });
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toBe('/articles/new-library');
      expect(ok.headers.get('set-cookie')).toMatch(/^plangate_jwt=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/);
      const claims = JSON.parse(Buffer.from(ok.headers.get('set-cookie')!.split('.')[1], 'base64url').toString('utf8'));
      expect(claims).toMatchObject({ email: 'a@example.com', premium: true });
      for (const away of ['//evil.example/x', '/\\evil.example', 'https://evil.example/']) {
        expect((await post({ email: 'a@example.com', return: away })).headers.get('location')).toBe('/');
      }
      expect((await post({ email: '', return: '/' })).status).toBe(400);
    } finally {
      await own.close();
    }
  });
});
