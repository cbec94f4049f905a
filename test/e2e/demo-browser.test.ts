// The demo as a reader sees it, in a real browser (Debian's chromium through playwright-core): the
// demo site behind the gateway with the demo config (config/plangate.yaml), as `npm start` runs
// them. Three articles read while the meter banner counts down; the 4th cut after its teaser with
// the offer box, the rest of the article in neither the DOM nor the bytes the browser received;
// /premium/ blocked; then signed in as premium on the site's own sign-in page: the full article and
// /premium/ open. Screenshots go to test-artifacts/ (git-ignored); docs/images/ keeps copies.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTICLES, PREMIUM, startDemoSite } from '../../examples/demo-site/server.js';
import { ensureTestKeys } from '../../src/cli/keys.js';
import { startGateway, type RunningGateway } from '../../src/gateway/listener.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { loadTestRuntime } from '../gateway/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)`);
if (!available) console.warn(`SKIPPED: the demo browser test needs ${CHROMIUM} (apt-get install -y chromium)`);

const ARTIFACTS = resolve('test-artifacts');
const READS = ['city-council-budget', 'river-cleanup', 'new-library'];
const FOURTH = 'football-final';

describe.skipIf(!available)('the demo in chromium', () => {
  let site: Awaited<ReturnType<typeof startDemoSite>>;
  let runtime: Runtime;
  let gateway: RunningGateway;
  let context: BrowserContext;
  let profile: string;
  let keyDir: string;

  beforeAll(async () => {
    // The demo's own key pair, as `npm start` makes it (the site signs with it, plangate verifies).
    keyDir = mkdtempSync(join(tmpdir(), 'plangate-demo-keys-'));
    const keys = await ensureTestKeys(keyDir);
    site = await startDemoSite({ port: 0, privateKeyFile: keys.privateKeyFile });
    runtime = await loadTestRuntime(resolve('config/plangate.yaml'), 'e2e-demo', {
      PLANGATE_UPSTREAM: site.url,
      PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile,
    });
    gateway = await startGateway({ model: runtime.model, engine: runtime.engine, logger: { event() {} }, listen: { host: '127.0.0.1', port: 0 } });
    mkdirSync(ARTIFACTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'plangate-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1000, height: 760 },
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await gateway?.close();
    await runtime?.close();
    await site?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function open(page: Page, path: string) {
    const response = await page.goto(`${gateway.url}${path}`);
    if (response === null) throw new Error(`no response for ${path}`);
    return { status: response.status(), bytes: (await response.body()).toString('utf8') };
  }

  it('meters three articles, cuts the fourth, blocks /premium/, and opens both after a premium sign-in', async () => {
    const page = await context.newPage();

    // Three free articles, the banner counting down.
    const banners: string[] = [];
    for (const [i, slug] of READS.entries()) {
      const { status } = await open(page, `/articles/${slug}`);
      expect(status).toBe(200);
      expect(await page.textContent('h1')).toBe(ARTICLES[slug].title);
      expect(await page.locator('.paywall p').count()).toBe(ARTICLES[slug].rest.length);
      banners.push((await page.textContent('.meter-banner'))!.replace(/\s+/g, ' ').trim());
      if (i === 0) await shot(page, 'article-with-meter-banner');
    }
    expect(banners).toEqual([
      '2 free articles left this month. Sign in for more, or see plans.',
      '1 free article left this month. Sign in for more, or see plans.',
      'This is your last free article this month. Sign in for more, or see plans.',
    ]);

    // The fourth: its teaser, the offer box, and nothing of the rest, in the DOM or on the wire.
    const fourth = await open(page, `/articles/${FOURTH}`);
    expect(fourth.status).toBe(200);
    const story = ARTICLES[FOURTH];
    for (const paragraph of story.teaser) expect(await page.locator('.teaser').textContent()).toContain(paragraph);
    expect(await page.locator('.offer-box h2').textContent()).toBe('Keep reading');
    expect(await page.locator('.offer-box').textContent()).toContain('You have read your 3 free articles this month.');
    expect(await page.locator('.offer-box a', { hasText: 'See plans' }).getAttribute('href')).toBe(`/plans?return=%2Farticles%2F${FOURTH}`);
    expect(await page.locator('.paywall').count()).toBe(0);
    expect(await page.locator('.meter-banner').count()).toBe(0);
    const dom = await page.content();
    for (const paragraph of story.rest) {
      expect(dom).not.toContain(paragraph);
      expect(fourth.bytes).not.toContain(paragraph);
    }
    // The structured data still says which part is paywalled.
    const ld = JSON.parse((await page.locator('script[type="application/ld+json"]').textContent())!);
    expect(ld).toMatchObject({ '@type': 'NewsArticle', isAccessibleForFree: false, hasPart: { isAccessibleForFree: false, cssSelector: '.paywall' } });
    await shot(page, 'soft-paywall-offer');

    // The plans page the offer links to exists.
    await page.click('.offer-box a:has-text("See plans")');
    expect(await page.textContent('h1')).toBe('Plans');
    await shot(page, 'plans');

    // /premium/ is for subscribers.
    const blocked = await open(page, '/premium/investigation');
    expect(blocked.status).toBe(402);
    expect(await page.textContent('h1')).toBe('Premium section is for subscribers');
    expect(blocked.bytes).not.toContain(PREMIUM.investigation.rest[0]);
    await shot(page, 'premium-paywall');

    // Sign in as a premium reader on the site's sign-in page, coming back to the fourth article.
    await open(page, `/signin?return=${encodeURIComponent(`/articles/${FOURTH}`)}`);
    await page.fill('input[name=email]', 'reader@example.com');
    await page.check('input[name=premium]');
    await shot(page, 'sign-in');
    await Promise.all([page.waitForURL(`${gateway.url}/articles/${FOURTH}`), page.click('button[type=submit]')]);
    expect(await page.locator('.offer-box').count()).toBe(0);
    expect(await page.locator('.meter-banner').count()).toBe(0);
    for (const paragraph of story.rest) expect(await page.locator('.paywall').textContent()).toContain(paragraph);
    await shot(page, 'premium-reader-full-article');

    const premium = await open(page, '/premium/investigation');
    expect(premium.status).toBe(200);
    for (const paragraph of PREMIUM.investigation.rest) expect(premium.bytes).toContain(paragraph);
    expect(await page.textContent('nav')).toContain('Sign out (reader@example.com)');
  }, 180_000);
});
