// Acceptance in a real browser (Debian's chromium through playwright-core): a page whose speculation
// rules prefetch a metered article, then a click on its link. The gateway refuses the prefetch
// (503, not forwarded, nothing consumed), Chromium drops it and fetches the article on navigation:
// the reader gets the article, the upstream sees one real request, the meter counts one read.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../gateway/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)`);
if (!available) console.warn(`SKIPPED: the browser prefetch test needs ${CHROMIUM} (apt-get install -y chromium)`);

const ARTICLE = '<!doctype html><html><head><title>Final</title></head><body><h1>Local club reaches the final</h1></body></html>';
const HOME = `<!doctype html><html><head><title>Home</title>
<script type="speculationrules">{"prefetch":[{"source":"list","urls":["/articles/football-final"],"eagerness":"immediate"}]}</script>
</head><body><a id="read" href="/articles/football-final">Read</a></body></html>`;

function html(body: string) {
  return (_req: IncomingMessage, res: ServerResponse): boolean => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
    return true;
  };
}

describe.skipIf(!available)('a speculation-rules prefetch in chromium', () => {
  let stack: Stack;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    stack = await startStack(resolve('config/plangate.yaml'), 'e2e-prefetch');
    stack.upstream.handlers.set('/', html(HOME));
    stack.upstream.handlers.set('/articles/football-final', html(ARTICLE));
    profile = mkdtempSync(join(tmpdir(), 'plangate-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
  }, 30_000);
  afterAll(async () => {
    await context?.close();
    await stack?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('delivers and counts the article exactly once', async () => {
    const page = await context.newPage();
    const article = `${stack.gateway.url}/articles/football-final`;
    const prefetched = page.waitForResponse((r) => r.url() === article && r.request().headers()['sec-purpose'] !== undefined);
    await page.goto(`${stack.gateway.url}/`);
    const prefetch = await prefetched;
    expect(prefetch.request().headers()['sec-purpose']).toBe('prefetch');
    expect(prefetch.status()).toBe(503);

    const [navigation] = await Promise.all([page.waitForNavigation(), page.click('#read')]);
    expect(navigation?.status()).toBe(200);
    expect(await page.textContent('h1')).toBe('Local club reaches the final');

    // The upstream was asked once, for real, and told the read was counted.
    const reads = stack.upstream.seen.filter((s) => s.target === '/articles/football-final');
    expect(reads).toHaveLength(1);
    expect(reads[0].headers['x-plangate-dry-run']).toBeUndefined();
    expect(reads[0].headers['sec-purpose']).toBeUndefined();
    expect(reads[0].headers['x-plangate-articles--enabled']).toBe('access=1; remaining=2; limit=3');
    // And the meter says one read, the next time the reader asks for anything.
    await page.goto(`${stack.gateway.url}/about`);
    const after = stack.upstream.seen.filter((s) => s.target === '/about');
    expect(after.at(-1)?.headers['x-plangate-articles--enabled']).toBe('access=1; remaining=2; limit=3');
    // The gateway saw one refused prefetch and one real read of the article, nothing else.
    const summaries = stack.logger.events.filter((e) => e.code === 'request' && e.fields?.route === '/articles/**').map((e) => e.fields?.outcome);
    expect(summaries).toEqual(['prefetch-refused', 'forwarded']);
  });
});
