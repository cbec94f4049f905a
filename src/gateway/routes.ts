// Route matching (PRODUCT.md §3): an ordered list, first match wins. Pattern segments are literals,
// `*` (exactly one segment) or `**` (the rest of the path, including nothing; only last). Patterns
// are compiled once at start into the same canonical form as request paths, so `/Caf%c3%a9` in the
// config matches the request `/caf%C3%A9`.
import type { GatewayConfig, RouteConfig } from '../config/schema.js';
import { canonicalizeTarget } from './canonical-path.js';

type PatternSegment = { kind: 'literal'; text: string } | { kind: 'one' } | { kind: 'rest' };

export interface MatchableRoute<R extends RouteConfig = RouteConfig> {
  route: R;
  index: number;
  pattern: readonly PatternSegment[];
  /** Upper-case methods, HEAD implied by GET; undefined = every method. */
  methods?: ReadonlySet<string>;
}

/** A problem in the `gateway` section, with its key path (the config loader adds line and column). */
export interface RouteIssue {
  path: string;
  message: string;
  expected?: string;
}

/** Semantic checks the JSON Schema cannot express. Empty when the section is usable. */
export function routeIssues(gateway: Pick<GatewayConfig, 'routes' | 'caseSensitive'>): RouteIssue[] {
  const issues: RouteIssue[] = [];
  gateway.routes.forEach((route, i) => {
    const at = `gateway.routes[${i}]`;
    const segments = route.path.split('/').filter((s) => s !== '');
    const restAt = segments.indexOf('**');
    if (restAt !== -1 && restAt !== segments.length - 1) {
      issues.push({ path: `${at}.path`, message: '`**` may only be the last segment', expected: 'a pattern like /docs/**' });
    }
    if (segments.some((s) => s !== '*' && s !== '**' && s.includes('*'))) {
      issues.push({ path: `${at}.path`, message: '`*` must be a whole segment', expected: 'a pattern like /articles/* (no partial wildcards such as a*b)' });
    }
    const literal = canonicalizeTarget(route.path.replaceAll('*', 'x'), { caseSensitive: true, allowPathParameters: false });
    if (!literal.ok) issues.push({ path: `${at}.path`, message: `not a valid path pattern (${literal.reason})` });
    if (route.bypass === true && route.surface !== undefined) {
      issues.push({ path: `${at}`, message: 'a route has either `surface` or `bypass: true`, not both' });
    }
    if (route.bypass !== true && route.surface === undefined) {
      issues.push({
        path: `${at}`,
        message: 'a route needs a `surface` (or `bypass: true` to forward undecided)',
        expected: 'surface: <slug> or bypass: true',
      });
    }
    if (route.bypass === true && (route.require !== undefined || route.consume !== undefined || route.deny !== undefined)) {
      issues.push({ path: `${at}`, message: 'a bypass route is never decided: remove `require`, `consume` and `deny`' });
    }
    const deny = route.deny;
    if (deny?.action === 'redirect') {
      if (deny.url === undefined)
        issues.push({ path: `${at}.deny.url`, message: 'required when the action is redirect', expected: 'an absolute URL or a path, e.g. /subscribe' });
      else if (!/^(https?:\/\/[^/?#]+|\/(?!\/))/.test(deny.url)) {
        issues.push({
          path: `${at}.deny.url`,
          message: 'not an absolute http(s) URL or a path starting with a single /',
          expected: 'https://example.com/subscribe or /subscribe',
        });
      }
      if (deny.status !== undefined && (deny.status < 300 || deny.status > 399)) {
        issues.push({ path: `${at}.deny.status`, message: 'a redirect status must be 3xx', expected: '302 or 303 or 307' });
      }
    } else if (deny !== undefined) {
      if (deny.url !== undefined || deny.returnParam !== undefined) {
        issues.push({ path: `${at}.deny`, message: '`url` and `returnParam` only apply to `action: redirect`' });
      }
      if (deny.action === 'paywall' && deny.status !== undefined && deny.status < 400) {
        issues.push({ path: `${at}.deny.status`, message: 'a paywall status must be 4xx or 5xx', expected: '402 (the default)' });
      }
    }
  });
  const last = gateway.routes[gateway.routes.length - 1];
  if (
    last === undefined ||
    last.path
      .split('/')
      .filter((s) => s !== '')
      .join('/') !== '**'
  ) {
    issues.push({
      path: `gateway.routes[${Math.max(0, gateway.routes.length - 1)}].path`,
      message: 'the last route must be the catch-all `/**`, so every request has a declared treatment',
      expected: "path: '/**' with a surface or bypass: true",
    });
  }
  return issues;
}

export function compileRoutes<R extends RouteConfig>(routes: readonly R[], options: { caseSensitive: boolean }): MatchableRoute<R>[] {
  return routes.map((route, index) => ({
    route,
    index,
    pattern: route.path
      .split('/')
      .filter((s) => s !== '')
      .map((s): PatternSegment => {
        if (s === '**') return { kind: 'rest' };
        if (s === '*') return { kind: 'one' };
        const canonical = canonicalizeTarget('/' + s, { caseSensitive: options.caseSensitive, allowPathParameters: false });
        return { kind: 'literal', text: canonical.ok ? (canonical.segments[0] ?? s) : s };
      }),
    methods: route.methods ? new Set(route.methods.includes('GET') ? [...route.methods, 'HEAD'] : route.methods) : undefined,
  }));
}

/** First route whose pattern matches the canonical segments (and method), or undefined. */
export function matchRoute<R extends RouteConfig>(
  table: readonly MatchableRoute<R>[],
  segments: readonly string[],
  method: string,
): MatchableRoute<R> | undefined {
  for (const entry of table) {
    if (entry.methods && !entry.methods.has(method)) continue;
    if (patternMatches(entry.pattern, segments)) return entry;
  }
  return undefined;
}

function patternMatches(pattern: readonly PatternSegment[], segments: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.kind === 'rest') return true;
    if (i >= segments.length) return false;
    if (p.kind === 'literal' && p.text !== segments[i]) return false;
  }
  return pattern.length === segments.length;
}
