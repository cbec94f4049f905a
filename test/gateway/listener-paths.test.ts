// Acceptance: no spelling of a protected path reaches the upstream undecided. Requests go over raw
// sockets (HTTP clients normalise paths) and are judged on the request target the upstream receives.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalizeTarget } from '../../src/gateway/canonical-path.js';
import { compilePattern } from '../../src/config/route-rules.js';
import { matchRoute } from '../../src/gateway/routes.js';
import { rawRequest, startStack, type Stack } from './harness.js';
import { LEGITIMATE_TARGETS, PREMIUM_SPELLINGS as VARIANTS } from '../support/hostile-paths.js';

let stack: Stack;
let premiumToken: string;
beforeAll(async () => {
  stack = await startStack(resolve('config/plangate.yaml'), 'gw-paths');
  premiumToken = await stack.keys.sign({ email: 'paths@example.com', premium: true });
});
afterAll(() => stack?.close());


const routes = ['/static/**', '/favicon.ico', '/articles/*', '/premium/**', '/**'].map((path) => ({ path, pattern: compilePattern(path, false) }));
function routeOf(target: string): string | undefined {
  const c = canonicalizeTarget(target, { caseSensitive: false, allowPathParameters: false });
  return c.ok ? matchRoute(routes, c.segments, 'GET')?.path : undefined;
}

describe('path variants of a protected path', () => {
  it('has at least 30 variants', () => expect(VARIANTS.length).toBeGreaterThanOrEqual(30));

  it.each(VARIANTS)('anonymous %j: paywall or 400, upstream never contacted', async (variant) => {
    const before = stack.upstream.seen.length;
    const res = await rawRequest(stack.gateway.url, variant, ['Accept: application/json']);
    expect([400, 402]).toContain(res.status);
    expect(stack.upstream.seen.length).toBe(before);
  });

  it.each(VARIANTS)('premium %j: 400, or forwarded as the canonical protected path with the premium decision', async (variant) => {
    const before = stack.upstream.seen.length;
    const res = await rawRequest(stack.gateway.url, variant, [`Authorization: Bearer ${premiumToken}`]);
    if (res.status === 400) {
      expect(stack.upstream.seen.length).toBe(before);
      return;
    }
    expect(res.status).toBe(200);
    expect(stack.upstream.seen.length).toBe(before + 1);
    const seen = stack.upstream.seen[before];
    // What the upstream received is itself canonical (a fixed point) and lies under /premium/**.
    const again = canonicalizeTarget(seen.target, { caseSensitive: true, allowPathParameters: false });
    expect(again.ok && again.path + again.query).toBe(seen.target);
    expect(routeOf(seen.target)).toBe('/premium/**');
    expect(seen.headers['x-plangate-premium--enabled']).toBe('access=1');
  });
});

describe('legitimate paths', () => {
  it.each(LEGITIMATE_TARGETS)(
    '%s reaches the upstream byte for byte',
    async (target) => {
      const before = stack.upstream.seen.length;
      const res = await rawRequest(stack.gateway.url, target, [`Authorization: Bearer ${premiumToken}`]);
      expect(res.status).toBe(200);
      expect(stack.upstream.seen[before].target).toBe(target);
    },
  );

  it('normalises lowercase percent-encodings to uppercase', async () => {
    const before = stack.upstream.seen.length;
    await rawRequest(stack.gateway.url, '/articles/caf%c3%a9', [`Authorization: Bearer ${premiumToken}`]);
    expect(stack.upstream.seen[before].target).toBe('/articles/caf%C3%A9');
  });

  it('answers a rejected path with a clear 400 (JSON for API clients)', async () => {
    const res = await rawRequest(stack.gateway.url, '/premium%2finvestigation', ['Accept: application/json']);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'error', statusCode: 400, code: 'path-encoded-slash' });
  });
});
