// Components applied by the gateway, through the real listener to a real upstream (docs/components.md
// "At the gateway"): HTML pages get the decision's components as they stream, whatever their coding
// (decoded, then re-encoded as the client accepts, or identity) or charset; a transformed page loses
// Content-Length, ETag and Last-Modified; everything else (other types, HEAD, 204, 304, bypass routes)
// passes untouched; a 20 MB page streams through without the process holding it.
import { request as httpRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../harness.js';
import { BANNER, LATIN1_PAGE, PAGE, rawGet, startComponentStack, withBanner } from './stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startComponentStack('gateway-components');
});
afterAll(() => stack?.close());

const DROPPED = ['content-length', 'etag', 'last-modified', 'accept-ranges'];
const lastSeen = (path: string) => stack.upstream.seen.findLast((s) => s.target === path)!;

describe('an HTML page of a decided route', () => {
  it('gets its components as it streams; length and validators are dropped, the page is private', async () => {
    const res = await rawGet(stack.gateway.url, '/site/plain');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(withBanner(PAGE));
    for (const name of DROPPED) expect(res.headers[name]).toBeUndefined();
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['cache-control']).toMatch(/^private/);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it.each([
    ['gzip', 'gzip', 'gzip, deflate, br', 'br'],
    ['br', 'br', 'gzip, br', 'br'],
    ['deflate (zlib)', 'deflate', 'gzip', 'gzip'],
    ['deflate (raw, as some servers send it)', 'deflate-raw', 'gzip;q=1, br;q=0.5', 'gzip'],
    ['gzip, to a client that accepts no coding', 'gzip', undefined, undefined],
  ])('%s: decoded, transformed, re-encoded as the client accepts', async (_label, variant, accept, expected) => {
    const res = await rawGet(stack.gateway.url, `/site/${variant}`, accept === undefined ? [] : [`Accept-Encoding: ${accept}`]);
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe(expected);
    const page = expected === 'br' ? brotliDecompressSync(res.body) : expected === 'gzip' ? gunzipSync(res.body) : res.body;
    expect(page.toString()).toBe(withBanner(PAGE));
    for (const name of DROPPED) expect(res.headers[name]).toBeUndefined();
    expect(res.headers.vary).toMatch(/Accept-Encoding/);
  });

  it('the request asks for the whole page in a coding plangate decodes: no Range, If-Range or conditionals upstream', async () => {
    const res = await rawGet(stack.gateway.url, '/site/plain', [
      'Range: bytes=0-99',
      'If-Range: "v1"',
      'If-None-Match: "v1"',
      'If-Modified-Since: Wed, 02 Dec 2026 08:00:00 GMT',
      'Accept-Encoding: zstd, br;q=0.9, gzip;q=0.8, compress',
    ]);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(withBanner(PAGE));
    const seen = lastSeen('/site/plain').headers;
    for (const name of ['range', 'if-range', 'if-none-match', 'if-modified-since']) expect(seen[name]).toBeUndefined();
    expect(seen['accept-encoding']).toBe('br;q=0.9, gzip;q=0.8');
  });

  it('a page in another charset: inserted characters outside ASCII as references, the page bytes as they were', async () => {
    const res = await rawGet(stack.gateway.url, '/site/latin1');
    expect(res.status).toBe(200);
    // The banner is ASCII; the page's own é (one byte, 0xE9, in windows-1252) is untouched.
    const at = LATIN1_PAGE.indexOf('<body>') + '<body>'.length;
    expect(res.body.equals(Buffer.concat([LATIN1_PAGE.subarray(0, at), Buffer.from(BANNER), LATIN1_PAGE.subarray(at)]))).toBe(true);
    expect(res.body.includes(Buffer.from([0x43, 0x61, 0x66, 0xe9]))).toBe(true);
  });
});

describe('a page that fails while it streams', () => {
  it('a gzip body that cannot be decoded: the response is cut off (no final chunk), never passed on raw, and logged', async () => {
    const before = stack.logger.events.filter((e) => e.code === 'component-stream-failed').length;
    const res = await rawGet(stack.gateway.url, '/site/corrupt-gzip', ['Accept-Encoding: gzip']);
    expect(res.raw.toString('latin1')).not.toMatch(/\r\n0\r\n\r\n$/);
    expect(res.raw.includes('ends here')).toBe(false);
    expect(stack.logger.events.filter((e) => e.code === 'component-stream-failed').length).toBe(before + 1);
  });
});

describe('what passes untouched', () => {
  it('a JSON response: its bytes, length and validators as the upstream sent them', async () => {
    const res = await rawGet(stack.gateway.url, '/site/json');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(JSON.stringify({ body: PAGE }));
    expect(res.headers['content-length']).toBe(String(res.body.length));
    expect(res.headers.etag).toBe('"v1"');
  });

  it('a coding plangate cannot decode: the bytes as they came', async () => {
    const res = await rawGet(stack.gateway.url, '/site/unknown');
    expect(res.headers['content-encoding']).toBe('x-plain');
    expect(res.body.toString()).toBe(PAGE);
    expect(res.headers.etag).toBe('"v1"');
  });

  it('HEAD: the head as the upstream sent it, no body', async () => {
    const res = await rawGet(stack.gateway.url, '/site/plain', [], 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(PAGE)));
    expect(res.headers.etag).toBe('"v1"');
    expect(res.raw.length).toBe(0);
  });

  it.each([
    ['no-content', 204],
    ['not-modified', 304],
  ])('%s: %i as it came, with its validators', async (variant, status) => {
    const res = await rawGet(stack.gateway.url, `/site/${variant}`);
    expect(res.status).toBe(status);
    expect(res.headers.etag).toBe('"v1"');
    expect(res.raw.length).toBe(0);
  });

  it('a bypass route: never decided, never transformed, Range honoured by the upstream', async () => {
    const res = await rawGet(stack.gateway.url, '/bypass/plain', ['Range: bytes=0-99']);
    expect(res.status).toBe(206);
    expect(res.body.toString()).toBe(PAGE.slice(0, 100));
  });
});

describe('a 20 MB page through the gateway', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  /**
   * Streams the page through the listener to a client that only counts it. Resident memory is read
   * (after a collection) before the request and every 100 ms until the response ends: a gateway that
   * held the page, before sending or while sending, would show it in the peak.
   */
  async function fetchCounting(path: string): Promise<{ status: number; bytes: number; head: string; tail: string; growthBytes: number }> {
    gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    try {
      return await new Promise((resolve, reject) => {
        const req = httpRequest(`${stack.gateway.url}${path}`, (res) => {
          let bytes = 0;
          let head = '';
          let last: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (head.length < 4096) head += chunk.toString();
            last = last.length < 4 ? [...last, chunk] : [last[1], last[2], last[3], chunk];
          });
          res.on('end', () => {
            const tail = Buffer.concat(last).toString().slice(-4096);
            resolve({ status: res.statusCode ?? 0, bytes, head, tail, growthBytes: Math.max(peak, process.memoryUsage().rss) - before });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    } finally {
      clearInterval(sampler);
    }
  }

  it('streams with its banner, the process growing far less than the page', { timeout: 600_000 }, async () => {
    // The first 20 MB through a process grows its heap and allocator for good (about 30 MB here, with
    // or without components): one run warms that up, then one is measured, and on a reading over the
    // limit one more (a gateway holding the page shows 20 MB in every run; the machine's noise in one).
    await fetchCounting('/site/big');
    const limit = 5 * 1024 * 1024;
    const runs = [await fetchCounting('/site/big')];
    if (runs[0].growthBytes >= limit) runs.push(await fetchCounting('/site/big'));
    for (const run of runs) {
      expect(run.status).toBe(200);
      expect(run.bytes).toBeGreaterThan(20 * 1024 * 1024);
      expect(run.head).toContain(`<body>${BANNER}\n<header`);
      expect(run.tail).toMatch(/<\/html>\n$/);
    }
    expect(Math.min(...runs.map((run) => run.growthBytes))).toBeLessThan(limit);
  });
});
