// The paywall page through the real listener: the shipped template tells a used-up allowance from
// a plan that lacks the feature, names the numbers and plans, links to the configured sign-in and
// plans pages with the return path encoded, escapes everything and leaks no template comment.
// Broken templates are refused at load with their key path.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { cookieFrom, rawRequest, startStack, writeConfig, type Stack } from './harness.js';

const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('the paywall page of the demo config', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(resolve('config/plangate.yaml'), 'paywall-pages');
  });
  afterAll(() => stack?.close());

  it('says a premium page is for subscribers, not that a free limit was reached', async () => {
    const res = await fetch(`${stack.gateway.url}/premium/investigation?x=<b>"`, { headers: BROWSER });
    expect(res.status).toBe(402);
    const body = await res.text();
    expect(body).toContain('Premium section is for subscribers');
    expect(body).toContain('Your current plan (Anonymous reader) does not include it. It comes with Premium reader.');
    expect(body).not.toContain('free limit');
    // The links carry the return path, percent-encoded (and the & of the attribute escaped).
    // (fetch sends the query's <, > and " percent-encoded; the return value encodes that again.)
    expect(body).toContain('href="/plans?return=%2Fpremium%2Finvestigation%3Fx%3D%253Cb%253E%2522"');
    expect(body).toContain('href="/signin?return=%2Fpremium%2Finvestigation%3Fx%3D%253Cb%253E%2522"');
    expect(body).not.toMatch(/<b>|"\?x=|\{\{|\{%|endcomment|LiquidJS|docs\/components\.md/);
    expect(stack.upstream.seen.filter((s) => s.target.startsWith('/premium/'))).toHaveLength(0);
  });

  it('says the allowance is used up on the 4th article, with the limit and the period', async () => {
    let cookie = '';
    for (const slug of ['a', 'b', 'c']) {
      const res = await fetch(`${stack.gateway.url}/articles/${slug}`, { headers: { ...BROWSER, cookie } });
      expect(res.status).toBe(200);
      cookie ||= cookieFrom(res.headers.getSetCookie(), 'plangate_anon')!;
    }
    const res = await fetch(`${stack.gateway.url}/articles/d`, { headers: { ...BROWSER, cookie } });
    expect(res.status).toBe(402);
    const body = await res.text();
    expect(body).toContain('You have reached your free limit');
    expect(body).toContain('Your plan includes 3 articles a month, and you have read them all. Registered reader or Premium reader gives you more.');
    expect(body).toContain('href="/plans?return=%2Farticles%2Fd"');
    const json = await fetch(`${stack.gateway.url}/articles/d`, { headers: { accept: 'application/json', cookie } });
    expect(await json.json()).toMatchObject({ reason: 'consumption', plansUrl: '/plans?return=%2Farticles%2Fd', loginUrl: '/signin?return=%2Farticles%2Fd' });
  });

  it('offers no sign-in link to a signed-in reader', async () => {
    const token = await stack.keys.sign({ email: 'reader@example.com' });
    const res = await fetch(`${stack.gateway.url}/premium/market-report`, { headers: { ...BROWSER, cookie: `plangate_jwt=${token}` } });
    expect(res.status).toBe(402);
    const body = await res.text();
    expect(body).toContain('Your current plan (Registered reader) does not include it.');
    expect(body).toContain('See plans');
    expect(body).not.toContain('Sign in');
  });
});

describe('templates a config names', () => {
  const config = (gateway: string, files: Record<string, string> = {}) =>
    writeConfig(
      `version: 1
features:
  news: {}
plans:
  free: { assign: anonymous, features: { news: { enabled: off } } }
surfaces:
  s: {}
gateway:
  upstream: http://127.0.0.1:1
${gateway}`,
      files,
    );

  async function problems(file: string): Promise<string> {
    try {
      await loadConfig(file, { env: {} });
    } catch (error) {
      if (error instanceof ConfigError) return error.format();
      throw error;
    }
    throw new Error('the config loaded');
  }

  it('refuses a value the decision does not have, a syntax error and an include, at their keys', async () => {
    const file = config(
      `  paywallTemplate: page.html
  routes:
    - path: /a/**
      surface: s
      deny: { action: paywall, template: broken.html }
    - path: /b/**
      surface: s
      deny: { action: paywall, template: include.html }
    - path: /**
      surface: s
`,
      { 'page.html': '<p>{{ remainingUnits }} {{ reason }}</p>', 'broken.html': '{% if reason %}never closed', 'include.html': "{% include 'secrets.txt' %}" },
    );
    const text = await problems(file);
    expect(text).toMatch(/gateway\.paywallTemplate: template .*page\.html: unknown value 'remainingUnits'; a template may use denied, reason/);
    expect(text).toMatch(/gateway\.routes\[0\]\.deny\.template: template .*broken\.html: tag \{% if reason %\} not closed/);
    expect(text).toMatch(/gateway\.routes\[1\]\.deny\.template: template .*include\.html: \{% include %\} is not supported/);
  });

  it('renders a custom page with conditions and escaping, and without its comment', async () => {
    const file = config(
      `  paywallTemplate: page.html
  routes:
    - path: /**
      surface: s
      consume: [news.enabled]
`,
      {
        'page.html':
          '{% comment %}secret note {{ path }}{% endcomment %}<p>{% if reason == "consumption" %}used{% else %}not in plan{% endif %} {{ path }} {{ returnParam }}</p>',
      },
    );
    const stack = await startStack(file, 'paywall-custom');
    try {
      const res = await rawRequest(stack.gateway.url, '/x?<i>', [`Accept: ${BROWSER.accept}`]);
      expect(res.status).toBe(402);
      expect(res.body).toBe('<p>used /x?&lt;i&gt; %2Fx%3F%3Ci%3E</p>');
    } finally {
      await stack.close();
    }
  });
});
