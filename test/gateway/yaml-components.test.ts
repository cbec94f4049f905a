// Components declared in YAML, with no workflow, through the real listener, engine, Redis and a
// real upstream: a meter banner from a template file that counts down, an offer that replaces the
// rest of the article once the free reads are used up (a soft denial: the cut text never leaves
// the gateway) but not on a report-only route, a route component shown to one plan only, a property condition, and a surface
// workflow's component still working beside them. Bad declarations are refused at load, each at its
// key path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { articlePage, paragraphEnd } from '../support/article-page.js';
import { cookieFrom, startStack, writeConfig, type Stack, TEST_JWT_YAML } from './harness.js';

const PAGE = articlePage(20_000);
const TEASER_TEXT = paragraphEnd(2);
const CUT_TEXT = paragraphEnd(3);

const BANNER = `{% comment %}The meter banner.{% endcomment %}<div class="meter">{% if remaining == 0 %}This is your last free article this {{ period }}.{% else %}{{ remaining }} of {{ limit }} free articles left this {{ period }}.{% endif %} <a href="{{ loginUrl }}">Sign in</a></div>`;

const CONFIG = `${TEST_JWT_YAML}features:
  articles: { name: Articles }
  newsletter:
    properties:
      signup: { type: boolean, fallback: true }
plans:
  anonymous:
    name: Anonymous reader
    assign: anonymous
    features: { articles: { enabled: { limit: 3, period: month, uniqueResources: true } } }
  premium:
    name: Premium reader
    features: { articles: { enabled: on }, newsletter: { signup: false } }
provisioning:
  rules: [{ claim: premium, equals: true, plans: [premium] }]
paywall:
  loginUrl: /signin
  plansUrl: /plans
surfaces:
  article:
    components:
      meter:
        selector: body
        when: { denied: false, remainingBelow: 3 }
        prepend: { template: banner.html }
      offer:
        selector: article.article-body
        when: { denied: consumption }
        replaceRange:
          fromMarker: .teaser-end
          toMarker: .article-footer
          replaceWith:
            - html: '<div class="offer">{{ feature }}: you have read {{ limit }} of {{ limit }}. <a href="{{ plansUrl }}">Subscribe</a></div>'
      newsletter:
        selector: .article-footer
        when: { property: newsletter.signup, equals: true }
        append: { html: '<p class="newsletter">Get the newsletter</p>' }
      byline:
        selector: .byline
        workflow: byline.ts
store:
  redis:
    url: \${REDIS_URL}
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  routes:
    - path: /articles/**
      surface: article
      consume: [articles.enabled]
      deny: { action: paywall, mode: soft }
      components:
        thanks:
          selector: h1
          when: { plans: [premium] }
          after: { html: '<p class="thanks">Thank you for subscribing, {{ plans | join: ", " }}</p>' }
    - path: /preview/**
      surface: article
      consume: [articles.enabled]
      enforce: false
    - path: /**
      surface: article
`;

const BYLINE = `const workflow: ComponentWorkflow = async () => ({ content: { append: [{ type: 'text', content: ' (workflow)' }] } });
export default workflow;
`;

function article(_req: IncomingMessage, res: ServerResponse): boolean {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(PAGE)) });
  res.end(PAGE);
  return true;
}

describe('components declared in YAML', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(writeConfig(CONFIG, { 'banner.html': BANNER, 'byline.ts': BYLINE }), 'yaml-components');
    for (const slug of ['one', 'two', 'three', 'four', 'five']) stack.upstream.handlers.set(`/articles/${slug}`, article);
    stack.upstream.handlers.set('/preview/four', article);
  });
  afterAll(() => stack?.close());

  it('counts down in a banner, then cuts the 4th article and offers the plans', async () => {
    let cookie = '';
    const read = async (slug: string) => {
      const res = await fetch(`${stack.gateway.url}/articles/${slug}`, { headers: { cookie } });
      cookie ||= cookieFrom(res.headers.getSetCookie(), 'plangate_anon') ?? '';
      return { status: res.status, body: await res.text() };
    };
    const first = await read('one');
    expect(first.status).toBe(200);
    expect(first.body).toContain('<body><div class="meter">2 of 3 free articles left this month. <a href="/signin?return=%2Farticles%2Fone">Sign in</a></div>');
    expect(first.body).not.toContain('The meter banner');
    expect(first.body).toContain(CUT_TEXT);
    expect(first.body).toContain('<p class="newsletter">Get the newsletter</p></div>');
    expect(first.body).toContain('Jo Example</a>, City Reporter &middot; <time datetime="2026-11-02T08:00:00Z">2 November 2026</time> (workflow)</p>');
    expect((await read('two')).body).toContain('1 of 3 free articles left this month.');
    expect((await read('three')).body).toContain('This is your last free article this month.');

    const fourth = await read('four');
    expect(fourth.status).toBe(200);
    expect(fourth.body).toContain(TEASER_TEXT);
    expect(fourth.body).toContain(
      '<div class="offer">Articles: you have read 3 of 3. <a href="/plans?return=%2Farticles%2Ffour">Subscribe</a></div><div class="article-footer">',
    );
    expect(fourth.body).not.toContain(CUT_TEXT);
    expect(fourth.body).not.toContain('class="meter"');
    // The denied read consumed nothing: re-reading a free one still works, and still says 0 left.
    expect((await read('one')).body).toContain('This is your last free article this month.');
    // A report-only route neither cuts nor decorates: the page goes out as the site sent it.
    const preview = await fetch(`${stack.gateway.url}/preview/four`, { headers: { cookie } });
    expect(preview.status).toBe(200);
    expect(await preview.text()).toBe(PAGE);
    expect(stack.upstream.seen.find((s) => s.target === '/preview/four')?.headers['x-plangate-would-deny']).toBe('consumption');
  });

  it('shows a route component to premium readers only, and no banner or offer to them', async () => {
    const token = await stack.keys.sign({ email: 'p@example.com', premium: true });
    const res = await fetch(`${stack.gateway.url}/articles/five`, { headers: { cookie: `plangate_jwt=${token}` } });
    const body = await res.text();
    expect(body).toContain('<p class="thanks">Thank you for subscribing, Premium reader</p>');
    expect(body).not.toContain('class="meter"');
    expect(body).not.toContain('class="offer"');
    expect(body).not.toContain('class="newsletter"');
    expect(body).toContain(CUT_TEXT);
    const anonymous = await (await fetch(`${stack.gateway.url}/articles/five`)).text();
    expect(anonymous).not.toContain('class="thanks"');
  });
});

describe('declarations refused at load', () => {
  async function problems(yaml: string, files: Record<string, string> = {}): Promise<string> {
    try {
      await loadConfig(writeConfig(yaml, files), { env: {} });
    } catch (error) {
      if (error instanceof ConfigError) return error.format();
      throw error;
    }
    throw new Error('the config loaded');
  }

  it('names each problem at its key path', async () => {
    const text = await problems(
      `version: 1
features:
  articles: {}
plans:
  free: { assign: anonymous }
surfaces:
  article:
    components:
      both:
        selector: body
        prepend: { html: '<p>x</p>', template: x.html }
      last:
        selector: 'p:last-child'
        prepend: { html: '<p>{{ remainingUnits }}</p>' }
      cond:
        selector: body
        when: { property: articles.colour, plans: [gold] }
        append: { html: ok }
      marker:
        selector: article
        replaceRange: { fromMarker: 'p + p' }
      mixed:
        selector: body
        workflow: w.ts
        prepend: { html: x }
      idle:
        selector: body
        when: { denied: true }
gateway:
  upstream: http://127.0.0.1:1
  routes:
    - path: /**
      surface: article
      components:
        bad: { selector: 'div:has(p)', append: { html: '{% if %}' } }
`,
      { 'w.ts': 'export default async () => ({});' },
    );
    expect(text).toMatch(/surfaces\.article\.components\.both\.prepend: an insertion needs exactly one of template \(a file\) or html/);
    expect(text).toMatch(/surfaces\.article\.components\.last\.selector: the selector "p:last-child" cannot be applied to a streaming page/);
    expect(text).toMatch(/surfaces\.article\.components\.last\.prepend\.html: template .*unknown value 'remainingUnits'/);
    expect(text).toMatch(/surfaces\.article\.components\.cond\.when\.property: feature 'articles' has no property 'colour'/);
    expect(text).toMatch(/surfaces\.article\.components\.cond\.when\.property: a property condition needs `equals`/);
    expect(text).toMatch(/surfaces\.article\.components\.cond\.when\.plans\[0\]: unknown plan 'gold'/);
    expect(text).toMatch(
      /surfaces\.article\.components\.marker\.replaceRange\.fromMarker: the marker cannot be applied to a streaming page: sibling combinators/,
    );
    expect(text).toMatch(/surfaces\.article\.components\.mixed\.workflow: a component has a workflow or declared operations/);
    expect(text).toMatch(/surfaces\.article\.components\.idle\.when: a condition without an operation does nothing/);
    expect(text).toMatch(/gateway\.routes\[0\]\.components\.bad\.selector: the selector "div:has\(p\)" cannot be applied/);
    expect(text).toMatch(/gateway\.routes\[0\]\.components\.bad\.append\.html: template gateway\.routes\[0\]\.components\.bad\.append\.html: /);
  });
});
