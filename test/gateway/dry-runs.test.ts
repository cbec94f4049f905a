// Acceptance: a dry run never delivers content (docs/gateway.md#dry-runs). HEAD and CORS preflights
// are forwarded and answered without a body, whatever the upstream sends; prefetches of guarded
// routes are answered by the gateway (503, no-store) and never reach the upstream; any other
// OPTIONS is a real read. Each case reads the bytes the client gets and what the upstream saw, and
// checks the meter afterwards through what the upstream is told on a real request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieFrom, rawExchange, rawRequest, startStack, writeConfig, type Stack } from './harness.js';

const ARTICLE = 'The full article text, which costs one free read.';

// consume() from the workflow: known to consume only once the workflow has run.
const COUNTED = `const workflow: SurfaceWorkflow = async ({ features }) => {
  const read = await features.articles.enabled.consume();
  return { properties: { granted: read.hasAccess } };
};
export default workflow;
`;

const CONFIG = `version: 1
features:
  articles: {}
  premium: {}
plans:
  anonymous:
    assign: anonymous
    features:
      articles: { enabled: { limit: 3, period: month, uniqueResources: true } }
surfaces:
  article: {}
  premium: {}
  counted: { workflow: counted.ts }
  site: {}
store:
  redis: { url: "\${REDIS_URL}", commandTimeoutMs: 2000 }   # generous: a starved test machine must not turn the meter probes into degraded answers
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  routes:
    - { path: /static/**, bypass: true }
    - { path: /articles/**, surface: article, consume: [articles.enabled] }
    - { path: /premium/**, surface: premium, require: premium.enabled }
    - { path: /counted/**, surface: counted }
    - { path: /**, surface: site }
`;

let stack: Stack;

/** The article for every path, to every method: an upstream that does not care what it is asked. */
function article(_req: IncomingMessage, res: ServerResponse): boolean {
  res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(ARTICLE)), 'cache-control': 'public, max-age=600' });
  res.end(ARTICLE);
  return true;
}

/** A broken upstream that sends the article after the head of a HEAD response anyway, straight to the socket, and keeps the connection open. */
function lyingHead(framing: 'length' | 'chunked') {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'HEAD') return article(req, res);
    const length = Buffer.byteLength(ARTICLE);
    const head =
      framing === 'length'
        ? `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${length}\r\n\r\n${ARTICLE}`
        : `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n${length.toString(16)}\r\n${ARTICLE}\r\n0\r\n\r\n`;
    res.socket!.write(head);
    return true;
  };
}

beforeAll(async () => {
  stack = await startStack(writeConfig(CONFIG, { 'counted.ts': COUNTED }), 'gw-dry-runs');
  for (const path of ['/articles/lying-length', '/articles/lying-chunked']) {
    stack.upstream.handlers.set(path, lyingHead(path.endsWith('length') ? 'length' : 'chunked'));
  }
});
afterAll(() => stack?.close());

/** A fresh anonymous visitor's cookie (minted on a page that consumes nothing). */
async function newVisitor(): Promise<string> {
  const res = await fetch(`${stack.gateway.url}/home`);
  await res.arrayBuffer();
  return cookieFrom(res.headers.getSetCookie(), 'plangate_anon')!;
}

let probes = 0;
/** The visitor's meter as the upstream is told it on a real read of a page that consumes nothing. */
async function meter(cookie: string): Promise<string> {
  const path = `/meter-${++probes}`;
  await (await fetch(stack.gateway.url + path, { headers: { cookie } })).arrayBuffer();
  return seenFor(path)[0].headers['x-plangate-articles--enabled'] as string;
}

function seenFor(path: string) {
  return stack.upstream.seen.filter((s) => s.target === path);
}

describe('HEAD', () => {
  it('is forwarded as a dry run and answered without a body; nothing is consumed', async () => {
    const cookie = await newVisitor();
    stack.upstream.handlers.set('/articles/head-1', article);
    const res = await rawRequest(stack.gateway.url, '/articles/head-1', [`Cookie: ${cookie}`], 'HEAD');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.head).toMatch(/\r\ncache-control: private, max-age=600/i);
    const seen = seenFor('/articles/head-1');
    expect(seen.map((s) => s.method)).toEqual(['HEAD']);
    expect(seen[0].headers['x-plangate-dry-run']).toBe('1');
    expect(seen[0].headers['x-plangate-articles--enabled']).toBe('access=1; remaining=2; limit=3'); // as if consumed
    expect(await meter(cookie)).toBe('access=1; remaining=3; limit=3');
  });

  it.each(['length', 'chunked'])('has no body even when the upstream wrongly sends one (%s)', async (framing) => {
    const cookie = await newVisitor();
    const res = await rawRequest(stack.gateway.url, `/articles/lying-${framing}`, [`Cookie: ${cookie}`], 'HEAD');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.head).not.toContain('Transfer-Encoding');
    expect(await meter(cookie)).toBe('access=1; remaining=3; limit=3');
    // The stray body does not leak into the next read either.
    const after = await fetch(`${stack.gateway.url}/articles/after-lie-${framing}`, { headers: { cookie } });
    expect(await after.text()).toBe(JSON.stringify({ target: `/articles/after-lie-${framing}` }));
  });

  it('keeps a kept-alive connection in step: the next response starts right after the HEAD head', async () => {
    const cookie = await newVisitor();
    const { hostname } = new URL(stack.gateway.url);
    const text = await rawExchange(
      stack.gateway.url,
      `HEAD /articles/lying-length HTTP/1.1\r\nHost: ${hostname}\r\nCookie: ${cookie}\r\n\r\n` +
        `GET /home-after-head HTTP/1.1\r\nHost: ${hostname}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
    );
    const firstEnd = text.indexOf('\r\n\r\n') + 4;
    expect(text.slice(0, 15)).toBe('HTTP/1.1 200 OK');
    expect(text.slice(firstEnd, firstEnd + 15)).toBe('HTTP/1.1 200 OK'); // no stray body in between
    expect(text).not.toContain(ARTICLE);
    expect(text).toContain(JSON.stringify({ target: '/home-after-head' }));
  });

  it('lowercase or mixed-case method spellings are refused by the parser and never reach the upstream', async () => {
    const before = stack.upstream.seen.length;
    for (const method of ['head', 'Head', 'options']) {
      expect((await rawRequest(stack.gateway.url, `/articles/spelled-${method}`, [], method)).status).toBe(400);
    }
    expect(stack.upstream.seen.length).toBe(before);
  });
});

describe('prefetches', () => {
  const spellings: [string, string[]][] = [
    ['Sec-Purpose: prefetch', ['Sec-Purpose: prefetch']],
    ['Sec-Purpose: prefetch;prerender', ['Sec-Purpose: prefetch;prerender']],
    ['Sec-Purpose: Prefetch', ['Sec-Purpose: Prefetch']],
    ['Sec-Purpose: PREFETCH ; anonymous-client-ip', ['Sec-Purpose: PREFETCH ; anonymous-client-ip']],
    ['a list item', ['Sec-Purpose: other, prefetch']],
    ['a repeated header', ['Sec-Purpose: other', 'Sec-Purpose: prefetch']],
    ['Purpose: prefetch', ['Purpose: prefetch']],
    ['X-Purpose: preview', ['X-Purpose: preview']],
    ['X-Purpose: Prefetch', ['X-Purpose: Prefetch']],
    ['X-Moz: prefetch', ['X-Moz: prefetch']],
  ];

  it.each(spellings)('%s of a consuming route is answered by the gateway: 503, no-store, not forwarded, not consumed', async (name, lines) => {
    const cookie = await newVisitor();
    const path = `/articles/prefetch-${name.replace(/\W+/g, '-')}`;
    stack.upstream.handlers.set(path, article);
    for (const method of ['GET', 'HEAD']) {
      const res = await rawRequest(stack.gateway.url, path, [`Cookie: ${cookie}`, ...lines], method);
      expect(res.status).toBe(503);
      expect(res.head).toMatch(/\r\ncache-control: no-store\r\n/i);
      expect(res.head).not.toMatch(/set-cookie/i);
      expect(res.body).not.toContain(ARTICLE);
    }
    const json = await fetch(stack.gateway.url + path, { headers: { cookie, accept: 'application/json', 'sec-purpose': 'prefetch' } });
    expect(await json.json()).toMatchObject({ statusCode: 503, code: 'prefetch-refused' });
    expect(seenFor(path)).toEqual([]);
    expect(await meter(cookie)).toBe('access=1; remaining=3; limit=3');
  });

  it('of a route that only requires something is refused too', async () => {
    const res = await rawRequest(stack.gateway.url, '/premium/report', ['Sec-Purpose: prefetch']);
    expect(res.status).toBe(503);
    expect(seenFor('/premium/report')).toEqual([]);
  });

  it('of a route whose workflow consumes is refused once the workflow has asked to', async () => {
    const cookie = await newVisitor();
    stack.upstream.handlers.set('/counted/one', article);
    const res = await rawRequest(stack.gateway.url, '/counted/one', [`Cookie: ${cookie}`, 'Sec-Purpose: prefetch']);
    expect(res.status).toBe(503);
    expect(res.body).not.toContain(ARTICLE);
    expect(seenFor('/counted/one')).toEqual([]);
    expect(await meter(cookie)).toBe('access=1; remaining=3; limit=3');
    // The real read is counted once.
    expect((await rawRequest(stack.gateway.url, '/counted/one', [`Cookie: ${cookie}`])).body).toBe(ARTICLE);
    expect(await meter(cookie)).toBe('access=1; remaining=2; limit=3');
  });

  it('of a route that neither consumes nor requires is forwarded as a dry run', async () => {
    const res = await rawRequest(stack.gateway.url, '/about', ['Sec-Purpose: prefetch']);
    expect(res.status).toBe(200);
    expect(res.body).toContain(JSON.stringify({ target: '/about' }));
    expect(seenFor('/about')[0].headers['x-plangate-dry-run']).toBe('1');
  });

  it('of a bypass route is forwarded undecided', async () => {
    const res = await rawRequest(stack.gateway.url, '/static/app.js', ['Sec-Purpose: prefetch']);
    expect(res.status).toBe(200);
    expect(seenFor('/static/app.js')[0].headers['x-plangate-dry-run']).toBeUndefined();
  });
});

describe('OPTIONS', () => {
  const preflight = ['Origin: https://other.example', 'Access-Control-Request-Method: GET'];

  it('a CORS preflight is forwarded as a dry run and its body dropped; nothing is consumed', async () => {
    const cookie = await newVisitor();
    stack.upstream.handlers.set('/articles/preflight', article);
    const res = await rawRequest(stack.gateway.url, '/articles/preflight', [`Cookie: ${cookie}`, ...preflight], 'OPTIONS');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.head).toMatch(/\r\ncontent-length: 0\r\n/i);
    const seen = seenFor('/articles/preflight');
    expect(seen.map((s) => s.method)).toEqual(['OPTIONS']);
    expect(seen[0].headers['x-plangate-dry-run']).toBe('1');
    expect(await meter(cookie)).toBe('access=1; remaining=3; limit=3');
  });

  it.each([
    ['with only Origin', ['Origin: https://other.example']],
    ['with only Access-Control-Request-Method', ['Access-Control-Request-Method: GET']],
    ['plain', []],
  ])('%s is a real read: it consumes and gets the body', async (name, lines) => {
    const cookie = await newVisitor();
    const path = `/articles/options-${name.replace(/\W+/g, '-')}`;
    stack.upstream.handlers.set(path, article);
    const res = await rawRequest(stack.gateway.url, path, [`Cookie: ${cookie}`, ...lines], 'OPTIONS');
    expect(res.status).toBe(200);
    expect(res.body).toBe(ARTICLE);
    expect(seenFor(path)[0].headers['x-plangate-dry-run']).toBeUndefined();
    expect(await meter(cookie)).toBe('access=1; remaining=2; limit=3');
  });
});

describe('the dry-run header', () => {
  it.each(['X-Plangate-Dry-Run: 1', 'x_plangate_dry_run: 1', 'X-PLANGATE-DRY-RUN: 1'])('sent by a client (%s) is stripped: the read is real', async (line) => {
    const cookie = await newVisitor();
    const path = `/articles/claimed-${line.slice(0, 3).replace(/\W/g, '')}-${probes}`;
    const res = await rawRequest(stack.gateway.url, path, [`Cookie: ${cookie}`, line]);
    expect(res.status).toBe(200);
    const seen = seenFor(path)[0];
    expect(Object.keys(seen.headers).filter((h) => h.replaceAll('_', '-').toLowerCase() === 'x-plangate-dry-run')).toEqual([]);
    expect(await meter(cookie)).toBe('access=1; remaining=2; limit=3');
  });
});

describe('under a burst', () => {
  it('400 concurrent dry runs from one visitor deliver no article and consume nothing; then exactly 3 real reads pass', async () => {
    const cookie = await newVisitor();
    const kinds: { method: string; headers: Record<string, string> }[] = [
      { method: 'HEAD', headers: {} },
      { method: 'GET', headers: { 'sec-purpose': 'prefetch' } },
      { method: 'GET', headers: { purpose: 'prefetch' } },
      { method: 'OPTIONS', headers: { origin: 'https://other.example', 'access-control-request-method': 'GET' } },
    ];
    for (let i = 0; i < 8; i++) stack.upstream.handlers.set(`/articles/burst-${i}`, article);
    const before = stack.upstream.seen.length;
    const results = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const kind = kinds[i % kinds.length];
        const res = await fetch(`${stack.gateway.url}/articles/burst-${i % 8}`, { method: kind.method, headers: { cookie, ...kind.headers } });
        return { method: kind.method, status: res.status, body: await res.text() };
      }),
    );
    expect(results.every((r) => !r.body.includes(ARTICLE))).toBe(true);
    expect(results.filter((r) => r.status === 503)).toHaveLength(200); // the prefetches
    expect(results.filter((r) => r.status === 200)).toHaveLength(200); // HEADs and preflights
    // Only the HEADs and preflights reached the upstream, each marked as a dry run.
    const reached = stack.upstream.seen.slice(before);
    expect(reached).toHaveLength(200);
    expect(reached.every((s) => s.headers['x-plangate-dry-run'] === '1' && (s.method === 'HEAD' || s.method === 'OPTIONS'))).toBe(true);
    expect(await meter(cookie)).toBe('access=1; remaining=3; limit=3');
    const reads = await Promise.all([0, 1, 2, 3].map((i) => fetch(`${stack.gateway.url}/articles/burst-${i}`, { headers: { cookie } })));
    const bodies = await Promise.all(reads.map((r) => r.text()));
    expect(reads.map((r) => r.status).sort()).toEqual([200, 200, 200, 402]);
    expect(bodies.filter((b) => b === ARTICLE)).toHaveLength(3);
  });
});
