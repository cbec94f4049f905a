import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { RouteConfig } from '../../src/config/schema.js';
import { paywallResponse, redirectResponse } from '../../src/gateway/deny.js';
import { errorResponse, ERRORS, wantsJson } from '../../src/gateway/error-pages.js';
import type { Denial } from '../../src/gateway/model.js';
import { testTemplateValues as values } from '../support/template-values.js';

const dir = mkdtempSync(join(tmpdir(), 'plangate-deny-'));
writeFileSync(join(dir, 'custom.html'), '<p>{{ path }} / {{reason}} / {{status}} / {{ remaining }}</p>');
let configs = 0;

/** The route's denial as the config loader compiles it (templates are read at load, relative to the config file). */
async function denial(route: RouteConfig): Promise<Denial> {
  const file = join(dir, `plangate-${configs++}.yaml`);
  const routes = [route, { path: '/**', surface: 's' }];
  writeFileSync(file, stringify({ version: 1, features: {}, plans: {}, surfaces: { s: {} }, gateway: { upstream: 'http://127.0.0.1:1', routes } }));
  return (await loadConfig(file, { env: {} })).gateway!.routes[0].denial;
}

describe('paywall', () => {
  it('renders the shipped template as HTML for browsers, escaping the path', async () => {
    const d = await denial({ path: '/premium/**', surface: 's' });
    if (d.action !== 'paywall') throw new Error('expected paywall');
    const target = '/premium/<x>?a="1"';
    const plansUrl = `/plans?return=${encodeURIComponent(target)}`;
    const { head, body } = paywallResponse(d, {
      target,
      reason: 'requirement',
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
      values: values({ returnPath: target, reason: 'requirement', feature: 'Premium <section>', plansUrl }),
    });
    expect(head.status).toBe(402);
    expect(head.headers['content-type']).toContain('text/html');
    expect(body).toContain('Premium &lt;section&gt; is for subscribers');
    expect(body).not.toContain('<section>');
    expect(body).not.toContain('<x>');
    expect(body).toContain(`href="/plans?return=%2Fpremium%2F%3Cx%3E%3Fa%3D%221%22"`);
    expect(body).not.toContain('free limit');
    expect(body).not.toContain('{%');
    expect(body).not.toContain('endcomment');
  });

  it('answers JSON to API clients', async () => {
    const d = await denial({ path: '/a', surface: 's', deny: { action: 'paywall', status: 403 } });
    if (d.action !== 'paywall') throw new Error('expected paywall');
    const { head, body } = paywallResponse(d, { target: '/a', reason: 'consumption', accept: 'application/json', values: values({ returnPath: '/a' }) });
    expect(head.status).toBe(403);
    expect(JSON.parse(body)).toMatchObject({ status: 'denied', statusCode: 403, reason: 'consumption', path: '/a' });
  });

  it('uses a route template relative to the config file', async () => {
    const d = await denial({ path: '/a', surface: 's', deny: { action: 'paywall', template: 'custom.html' } });
    if (d.action !== 'paywall') throw new Error('expected paywall');
    expect(paywallResponse(d, { target: '/a&b', reason: 'requirement', accept: undefined, values: values({ returnPath: '/a&b', reason: 'requirement' }) }).body).toBe(
      '<p>/a&amp;b / requirement / 402 / 0</p>',
    );
  });

  it('names the file when a template cannot be read', async () => {
    await expect(denial({ path: '/a', surface: 's', deny: { action: 'paywall', template: 'missing.html' } })).rejects.toThrow(
      /missing\.html: cannot be read \(ENOENT\)/,
    );
  });
});

describe('redirect', () => {
  it.each([
    ['/subscribe', undefined, '/premium/x?a=1', '/subscribe?return=%2Fpremium%2Fx%3Fa%3D1'],
    ['https://shop.example/plans?from=gw', 'next', '/p', 'https://shop.example/plans?from=gw&next=%2Fp'],
  ])('%s', async (url, returnParam, target, location) => {
    const d = await denial({ path: '/a', surface: 's', deny: { action: 'redirect', url, returnParam } });
    if (d.action !== 'redirect') throw new Error('expected redirect');
    const { head } = redirectResponse(d, { target });
    expect(head).toMatchObject({ status: 302, headers: { location } });
  });
});

describe('error pages', () => {
  it.each([
    [undefined, false],
    ['*/*', false],
    ['application/json', true],
    ['application/problem+json', true],
    ['text/html, application/json', false],
  ])('Accept %j wants JSON: %s', (accept, json) => expect(wantsJson(accept)).toBe(json));

  it('never leaks internals', () => {
    const html = errorResponse(ERRORS.upstreamUnreachable(), 'text/html');
    expect(html.head.status).toBe(502);
    expect(html.body).toContain('502 Bad Gateway');
    const json = JSON.parse(errorResponse(ERRORS.badPath('encoded-slash'), 'application/json').body);
    expect(json).toEqual({ status: 'error', statusCode: 400, code: 'path-encoded-slash', message: 'The request path was rejected (encoded-slash).' });
  });
});
