// Acceptance: no shared cache may store a decided response. The CDN- and proxy-targeted caching
// headers (CDN-Cache-Control and its vendor forms, Surrogate-Control, Edge-Control, X-Accel-Expires)
// win over Cache-Control where they are obeyed, so on every decided response each says "do not
// store" in its own syntax, whether the upstream or a workflow set it. Bypass routes are untouched.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startStack, writeConfig, type Stack } from './harness.js';

const CDN_HEADERS: Record<string, string> = {
  'CDN-Cache-Control': 'public, max-age=3600',
  'Cloudflare-CDN-Cache-Control': 'max-age=3600',
  'Vercel-CDN-Cache-Control': 's-maxage=3600',
  'Surrogate-Control': 'content="ESI/1.0", max-age=3600',
  'Edge-Control': 'cache-maxage=1h',
  'X-Accel-Expires': '3600',
};

const NOT_STORED: Record<string, string> = {
  'cdn-cache-control': 'no-store',
  'cloudflare-cdn-cache-control': 'no-store',
  'vercel-cdn-cache-control': 'no-store',
  'surrogate-control': 'content="ESI/1.0", no-store',
  'edge-control': 'no-store',
  'x-accel-expires': '0',
};

// A workflow that tries to make its own answers CDN-cacheable: modify form and body form.
const WORKFLOW = `const workflow: SurfaceWorkflow = async ({ resource }) => {
  const addHeaders = [{ name: 'Surrogate-Control', value: 'max-age=900' }, { name: 'CDN-Cache-Control', value: 'public, max-age=900' }, { name: 'X-Accel-Expires', value: '900' }];
  if (resource.id === '/workflow/answer') return { http: { status: 200, headers: { 'Edge-Control': 'cache-maxage=15m', 'Cache-Control': 'public, max-age=900' }, body: 'from the workflow' } };
  return { http: { addHeaders } };
};
export default workflow;
`;

const CONFIG = `version: 1
features:
  articles: {}
plans:
  anonymous: { assign: anonymous, features: { articles: { enabled: { limit: 1000, period: month } } } }
surfaces:
  article: {}
  shaping: { workflow: shaping.ts }
store:
  redis: { url: "\${REDIS_URL}" }
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  routes:
    - { path: /static/**, bypass: true }
    - { path: /workflow/**, surface: shaping }
    - { path: /articles/**, surface: article, consume: [articles.enabled] }
    - { path: /**, surface: article }
`;

let stack: Stack;

function cdnCacheable(_req: IncomingMessage, res: ServerResponse): boolean {
  res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'public, max-age=3600', ...CDN_HEADERS });
  res.end('<p>a page</p>');
  return true;
}

beforeAll(async () => {
  stack = await startStack(writeConfig(CONFIG, { 'shaping.ts': WORKFLOW }), 'gw-shared-caches');
  for (const path of ['/articles/one', '/home', '/static/app.js', '/workflow/modify']) stack.upstream.handlers.set(path, cdnCacheable);
});
afterAll(() => stack?.close());

/** Every response header the client got, by lowercase name, as sent on the wire. */
function headersOf(head: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    out.set(name, [...(out.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return out;
}

describe('decided responses', () => {
  it.each(['/articles/one', '/home'])('%s: every CDN-targeted caching header from the upstream says do not store', async (path) => {
    const res = await rawRequest(stack.gateway.url, path);
    expect(res.status).toBe(200);
    const headers = headersOf(res.head);
    for (const [name, value] of Object.entries(NOT_STORED)) expect(headers.get(name)).toEqual([value]);
    expect(headers.get('cache-control')).toEqual(['private, max-age=3600']);
  });

  it('a workflow cannot make its own answers CDN-cacheable, modify form or body form', async () => {
    const modified = headersOf((await rawRequest(stack.gateway.url, '/workflow/modify')).head);
    expect(modified.get('surrogate-control')).toEqual(['no-store']);
    expect(modified.get('cdn-cache-control')).toEqual(['no-store']);
    expect(modified.get('x-accel-expires')).toEqual(['0']);
    const answered = await rawRequest(stack.gateway.url, '/workflow/answer');
    expect(answered.body).toBe('from the workflow');
    const headers = headersOf(answered.head);
    expect(headers.get('edge-control')).toEqual(['no-store']);
    expect(headers.get('cache-control')).toEqual(['private, max-age=900']);
  });

  it('holds for a burst of 400 concurrent decided responses', async () => {
    const results = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const res = await fetch(stack.gateway.url + (i % 2 === 0 ? '/articles/one' : '/home'));
        await res.arrayBuffer();
        return Object.keys(NOT_STORED).every((name) => res.headers.get(name) === NOT_STORED[name]);
      }),
    );
    expect(results.filter((ok) => !ok)).toEqual([]);
  });
});

describe('bypass routes', () => {
  it('are not decided, so their caching headers pass unchanged', async () => {
    const headers = headersOf((await rawRequest(stack.gateway.url, '/static/app.js')).head);
    for (const [name, value] of Object.entries(CDN_HEADERS)) expect(headers.get(name.toLowerCase())).toEqual([value]);
    expect(headers.get('cache-control')).toEqual(['public, max-age=3600']);
  });
});
