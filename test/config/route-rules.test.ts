// The route rules (src/config/route-rules.ts), one owner for validate, start-up and reload.
import { describe, expect, it } from 'vitest';
import { routeIssues } from '../../src/config/route-rules.js';
import type { RouteConfig } from '../../src/config/schema.js';

/** Literals, `*`, `**`, an encoded literal, a method filter, a bypass, and the catch-all. */
const routes: RouteConfig[] = [
  { path: '/static/**', bypass: true },
  { path: '/api/*/items', surface: 'api', methods: ['GET'] },
  { path: '/Caf%c3%a9', surface: 'cafe' },
  { path: '/**', surface: 'site' },
];

describe('routeIssues', () => {
  const ok: RouteConfig = { path: '/**', surface: 's' };
  const table: [routes: RouteConfig[], path: string, fragment: string][] = [
    [[{ path: '/a', surface: 's' }], 'gateway.routes[0].path', 'catch-all'],
    [[{ path: '/a/**/b', surface: 's' }, ok], 'gateway.routes[0].path', 'last segment'],
    [[{ path: '/a*', surface: 's' }, ok], 'gateway.routes[0].path', 'whole segment'],
    [[{ path: '/a%2Fb', surface: 's' }, ok], 'gateway.routes[0].path', 'encoded-slash'],
    [[{ path: '/a' }, ok], 'gateway.routes[0]', 'needs a `surface`'],
    [[{ path: '/a', surface: 's', bypass: true }, ok], 'gateway.routes[0]', 'not both'],
    [[{ path: '/a', bypass: true, require: 'a.b' }, ok], 'gateway.routes[0]', 'never decided'],
    [[{ path: '/a', surface: 's', deny: { action: 'redirect' } }, ok], 'gateway.routes[0].deny.url', 'required'],
    [[{ path: '/a', surface: 's', deny: { action: 'redirect', url: '//evil.example' } }, ok], 'gateway.routes[0].deny.url', 'single /'],
    [[{ path: '/a', surface: 's', deny: { action: 'redirect', url: '/x', status: 402 } }, ok], 'gateway.routes[0].deny.status', '3xx'],
    [[{ path: '/a', surface: 's', deny: { action: 'paywall', url: '/x' } }, ok], 'gateway.routes[0].deny', 'only apply'],
    [[{ path: '/a', surface: 's', deny: { action: 'paywall', status: 302 } }, ok], 'gateway.routes[0].deny.status', '4xx'],
    [[{ path: '/a', surface: 's', deny: { action: 'forward', mode: 'soft' } }, ok], 'gateway.routes[0].deny.mode', 'paywall or a redirect'],
  ];
  it.each(table)('%j → %s', (list, path, fragment) => {
    const issues = routeIssues({ routes: list, caseSensitive: false });
    expect(issues.find((i) => i.path === path)?.message).toContain(fragment);
  });

  it('accepts a sound table', () => {
    expect(routeIssues({ routes, caseSensitive: false })).toEqual([]);
    expect(
      routeIssues({ routes: [{ path: '/a', surface: 's', deny: { action: 'redirect', url: 'https://x.example/sub?a=1' } }, ok], caseSensitive: false }),
    ).toEqual([]);
    expect(routeIssues({ routes: [{ path: '/a', surface: 's', deny: { action: 'paywall', mode: 'soft' } }, ok], caseSensitive: false })).toEqual([]);
  });
});
