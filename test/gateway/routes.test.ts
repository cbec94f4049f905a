import { describe, expect, it } from 'vitest';
import { compileMethods, compilePattern } from '../../src/config/route-rules.js';
import type { RouteConfig } from '../../src/config/schema.js';
import { canonicalizeTarget } from '../../src/gateway/canonical-path.js';
import { matchRoute } from '../../src/gateway/routes.js';

const routes: RouteConfig[] = [
  { path: '/static/**', bypass: true },
  { path: '/articles/*', surface: 'article' },
  { path: '/premium/**', surface: 'premium' },
  { path: '/api/*/items', surface: 'api', methods: ['GET'] },
  { path: '/Caf%c3%a9', surface: 'cafe' },
  { path: '/**', surface: 'site' },
];

function matchedPattern(target: string, method = 'GET', caseSensitive = false): string | undefined {
  const table = routes.map((r) => ({ path: r.path, pattern: compilePattern(r.path, caseSensitive), methods: compileMethods(r.methods) }));
  const canonical = canonicalizeTarget(target, { caseSensitive, allowPathParameters: false });
  if (!canonical.ok) throw new Error(canonical.reason);
  return matchRoute(table, canonical.segments, method)?.path;
}

describe('matchRoute', () => {
  const table: [target: string, pattern: string, method?: string][] = [
    ['/static/app.css', '/static/**'],
    ['/static', '/static/**'],
    ['/static/a/b/c.js', '/static/**'],
    ['/articles/one', '/articles/*'],
    ['/articles/one/', '/articles/*'],
    ['/ARTICLES/One', '/articles/*'],
    ['/articles', '/**'],
    ['/articles/one/two', '/**'],
    ['/premium', '/premium/**'],
    ['/premium/x/y', '/premium/**'],
    ['/premiumx', '/**'],
    ['/api/v1/items', '/api/*/items'],
    ['/api/v1/items', '/api/*/items', 'HEAD'],
    ['/api/v1/items', '/**', 'POST'],
    ['/caf%C3%A9', '/Caf%c3%a9'],
    ['/', '/**'],
  ];
  it.each(table)('%s → %s', (target, pattern, method = 'GET') => {
    expect(matchedPattern(target, method)).toBe(pattern);
  });

  it('respects case when case-sensitive', () => {
    expect(matchedPattern('/Articles/one', 'GET', true)).toBe('/**');
    expect(matchedPattern('/articles/One', 'GET', true)).toBe('/articles/*');
  });
});
