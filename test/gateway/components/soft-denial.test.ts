// Soft paywalls through the real listener (docs/components.md "Soft paywalls"): a soft-denied request
// is forwarded without consuming and the page goes out cut, or the route's hard denial goes instead.
// Checked as an attacker would: the cut text must never be in the raw bytes the client receives,
// whatever the client asks for (a Range, a conditional, codings) and whatever the upstream answers
// (an unknown coding, JSON, a page without the marker, 20 MB); then 400 requests at once from one
// visitor on a metered soft route: exactly the limit consumed and served whole, every other page cut.
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../harness.js';
import { CUT_TEXT, cutPage, PAGE, rawGet, startComponentStack, TEASER_TEXT, withBanner, type RawAnswer } from './stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startComponentStack('gateway-soft-denial');
});
afterAll(() => stack?.close());

/** The cut text is in none of the forms the bytes could carry it: raw, de-chunked, decoded. */
function expectNoCutText(res: RawAnswer) {
  expect(res.raw.includes(CUT_TEXT)).toBe(false);
  expect(res.body.includes(CUT_TEXT)).toBe(false);
  const coding = res.headers['content-encoding'];
  if (coding === 'gzip') expect(gunzipSync(res.body).includes(CUT_TEXT)).toBe(false);
  if (coding === 'br') expect(brotliDecompressSync(res.body).includes(CUT_TEXT)).toBe(false);
}

function expectHardDenial(res: RawAnswer) {
  expect(res.status).toBe(402);
  expect(res.headers['cache-control']).toBe('private, no-store');
  expect(res.body.toString()).toMatch(/<html/i);
  expectNoCutText(res);
}

const events = (code: string) => stack.logger.events.filter((e) => e.code === code);

describe('a soft-denied page that can be cut', () => {
  it('goes out cut, with the offer and the banner; the upstream got the request with the denial in its headers', async () => {
    const res = await rawGet(stack.gateway.url, '/soft/plain');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(cutPage(PAGE));
    expect(res.body.includes(TEASER_TEXT)).toBe(true);
    expectNoCutText(res);
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['last-modified']).toBeUndefined();
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('private, no-store');
  });

  it.each([
    ['gzip', 'gzip, br', 'br'],
    ['br', 'gzip', 'gzip'],
    ['deflate', undefined, undefined],
  ])('%s from the upstream: decoded, cut, re-encoded for the client', async (variant, accept, coding) => {
    const res = await rawGet(stack.gateway.url, `/soft/${variant}`, accept === undefined ? [] : [`Accept-Encoding: ${accept}`]);
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe(coding);
    const page = coding === 'br' ? brotliDecompressSync(res.body) : coding === 'gzip' ? gunzipSync(res.body) : res.body;
    expect(page.toString()).toBe(cutPage(PAGE));
    expectNoCutText(res);
  });

  it('a Range request: forwarded without Range, If-Range or conditionals, the whole page cut; never the part asked for', async () => {
    // The part after the teaser, as a reader who knows the page's layout would ask for it.
    const from = Buffer.from(PAGE).indexOf(CUT_TEXT) - 200;
    const res = await rawGet(stack.gateway.url, '/soft/plain', [`Range: bytes=${from}-${from + 2000}`, 'If-Range: "v1"', 'If-None-Match: "v0"', 'If-Modified-Since: Wed, 02 Dec 2026 08:00:00 GMT', 'If-Match: "v1"', 'If-Unmodified-Since: Wed, 02 Dec 2026 08:00:00 GMT']);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(cutPage(PAGE));
    expectNoCutText(res);
    const seen = stack.upstream.seen.findLast((s) => s.target === '/soft/plain')!.headers;
    for (const name of ['range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since']) expect(seen[name]).toBeUndefined();
    expect(seen['x-plangate-denied']).toBe('requirement');
  });

  it('markers split across 1-byte upstream chunks: the same cut page', async () => {
    const res = await rawGet(stack.gateway.url, '/soft/trickle');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(cutPage(PAGE));
    expectNoCutText(res);
  });

  it('Accept-Encoding is limited to what plangate decodes before it goes upstream', async () => {
    await rawGet(stack.gateway.url, '/soft/plain', ['Accept-Encoding: zstd, x-plain, gzip;q=0.5']);
    expect(stack.upstream.seen.findLast((s) => s.target === '/soft/plain')!.headers['accept-encoding']).toBe('gzip;q=0.5');
    await rawGet(stack.gateway.url, '/soft/plain', ['Accept-Encoding: zstd']);
    expect(stack.upstream.seen.findLast((s) => s.target === '/soft/plain')!.headers['accept-encoding']).toBe('identity');
  });

  it('HEAD: forwarded and answered without a body', async () => {
    const res = await rawGet(stack.gateway.url, '/soft/plain', [], 'HEAD');
    expect(res.raw.length).toBe(0);
  });
});

describe('a soft-denied response that cannot be cut gets the hard denial, and not one byte of the page', () => {
  it.each([
    ['unknown', 'encoding', 'a coding plangate cannot decode (its bytes are the plain page)'],
    ['json', 'not-html', 'a JSON response carrying the article'],
    ['no-marker', 'marker-missing', 'a page without the fromMarker'],
    ['no-content', 'status', 'a 204'],
    ['not-modified', 'status', 'a 304'],
    ['corrupt-gzip', expect.stringMatching(/^(decode-failed|rewrite-failed)$/), 'a gzip body that cannot be decoded (its bytes are the plain page)'],
  ])('%s → %s: %s', async (variant, reason) => {
    const before = events('soft-denial-replaced').length;
    const res = await rawGet(stack.gateway.url, `/soft/${variant}`);
    expectHardDenial(res);
    expect(res.body.includes('ends here')).toBe(false);
    expect(events('soft-denial-replaced').slice(before)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ reason }) })]);
  });

  it('JSON to an API client: the JSON paywall', async () => {
    const res = await rawGet(stack.gateway.url, '/soft/json', ['Accept: application/json']);
    expect(res.status).toBe(402);
    expect(JSON.parse(res.body.toString())).toMatchObject({ status: 'denied', statusCode: 402 });
    expectNoCutText(res);
  });

  it("a redirect route's soft denial falls back to its redirect", async () => {
    const res = await rawGet(stack.gateway.url, '/soft-redirect/json');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/subscribe?return=%2Fsoft-redirect%2Fjson');
    expectNoCutText(res);
    const cut = await rawGet(stack.gateway.url, '/soft-redirect/plain');
    expect(cut.body.toString()).toBe(cutPage(PAGE));
  });

  it('a decision with no component that cuts: the hard denial, without contacting the upstream', async () => {
    const seen = stack.upstream.seen.length;
    const before = events('soft-denial-replaced').length;
    expectHardDenial(await rawGet(stack.gateway.url, '/soft-no-cut/plain'));
    expect(stack.upstream.seen.length).toBe(seen);
    expect(events('soft-denial-replaced').slice(before)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ reason: 'no-cut' }) })]);
  });

  it('a websocket upgrade cannot be cut: it gets the hard denial and never reaches the upstream', async () => {
    const seen = stack.upstream.seen.length;
    const res = await rawGet(stack.gateway.url, '/soft/socket', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']);
    expect(res.status).toBe(402);
    expect(stack.upstream.seen.length).toBe(seen);
  });

  it('a hard route is never forwarded', async () => {
    const seen = stack.upstream.seen.length;
    expectHardDenial(await rawGet(stack.gateway.url, '/hard/plain'));
    expect(stack.upstream.seen.length).toBe(seen);
  });
});

describe('a soft-denied 20 MB page', () => {
  it('goes out cut after the teaser, a few KB, the rest never sent', { timeout: 120_000 }, async () => {
    const res = await rawGet(stack.gateway.url, '/soft/big');
    expect(res.status).toBe(200);
    expect(res.raw.length).toBeLessThan(40_000);
    expect(res.body.toString()).toContain(`${TEASER_TEXT}</p><div class="offer">Subscribe</div><div class="article-footer">`);
    expect(res.body.toString()).toMatch(/<\/html>\n$/);
    expectNoCutText(res);
    expect(res.body.includes('Paragraph 4 ends here')).toBe(false);
  });
});

describe('400 soft-denied requests at once from one visitor on a metered route (3 articles)', () => {
  it('exactly 3 pages whole and consumed, 397 cut, none carrying the cut text', { timeout: 120_000 }, async () => {
    const token = await stack.keys.sign({ sub: `burst-${Date.now()}@example.com` });
    const answers = await Promise.all(Array.from({ length: 400 }, () => rawGet(stack.gateway.url, '/metered/plain', [`Authorization: Bearer ${token}`])));
    expect(answers.map((a) => a.status)).toEqual(Array(400).fill(200));
    const whole = answers.filter((a) => a.body.toString() === withBanner(PAGE));
    const cut = answers.filter((a) => a.body.toString() === cutPage(PAGE));
    expect(whole).toHaveLength(3);
    expect(cut).toHaveLength(397);
    for (const answer of cut) expectNoCutText(answer);
    // Nothing was consumed beyond the limit: a dry decision reads the counter.
    const [, payload] = token.split('.');
    const sub = JSON.parse(Buffer.from(payload, 'base64url').toString()).sub as string;
    const { decision } = await stack.runtime.engine.decide({ surfaceSlug: 'metered', identity: { userIdentifier: sub }, trusted: true, dryRun: true });
    expect(decision.features.articles.properties.enabled).toMatchObject({ consumedUnits: 3, remainingUnits: 0, hasAccess: false });
  });
});
