// The one owner of the route rules: what makes `gateway.routes` usable (pattern shape, surface or
// bypass, denial actions, the final catch-all) and how a pattern compiles into the canonical segments
// the gateway matches (docs/gateway.md "Routes"). `plangate validate`, start-up and reload all load
// the config through src/config/load.ts, which runs these rules: the three refuse the same configs.
import type { PatternSegment } from '../gateway/model.js';
import { canonicalizeTarget } from '../gateway/canonical-path.js';
import { formatPath, type KeyPath } from './locate.js';
import type { RouteConfig } from './schema.js';

/** A problem in `gateway.routes`, at its key path (the loader adds file, line and column). */
export interface RouteIssue {
  at: KeyPath;
  /** `at` formatted: `gateway.routes[2].deny.url`. */
  path: string;
  message: string;
  expected?: string;
}

const PATTERN_EXPECTED = 'literal segments, * (one whole segment) and ** (last)';
/** An absolute http(s) URL or a path on this site; `//host` would leave it. */
const REDIRECT_URL = /^(https?:\/\/[^/?#]+|\/(?!\/))/;

/** Route rules the JSON Schema cannot express; surface and property references are checked in cross-check.ts. */
export function routeIssues(gateway: { routes: readonly RouteConfig[]; caseSensitive?: boolean }): RouteIssue[] {
  const issues: RouteIssue[] = [];
  const add = (at: KeyPath, message: string, expected?: string) => {
    const issue: RouteIssue = { at, path: formatPath(at), message };
    if (expected !== undefined) issue.expected = expected;
    issues.push(issue);
  };
  gateway.routes.forEach((route, i) => {
    const at: KeyPath = ['gateway', 'routes', i];
    const segments = route.path.slice(1).split('/');
    const rest = segments.indexOf('**');
    if (rest >= 0 && rest !== segments.length - 1) add([...at, 'path'], "'**' matches the rest of the path: it can only be the last segment", PATTERN_EXPECTED);
    if (segments.slice(0, -1).includes('')) add([...at, 'path'], 'empty segment (//) in the path', PATTERN_EXPECTED);
    if (segments.some((s) => s !== '*' && s !== '**' && s.includes('*')))
      add([...at, 'path'], "'*' must be a whole segment (no partial wildcards such as a*b)", 'a pattern like /articles/*');
    const literal = canonicalizeTarget(route.path.replaceAll('*', 'x'), { caseSensitive: true, allowPathParameters: false });
    if (!literal.ok) add([...at, 'path'], `not a valid path pattern (${literal.reason})`, PATTERN_EXPECTED);

    if (route.bypass === true) {
      if (route.surface !== undefined) add(at, 'a route has either `surface` or `bypass: true`, not both');
      const undecided = (['require', 'consume', 'deny'] as const).filter((key) => route[key] !== undefined);
      if (undecided.length > 0) add(at, `a bypass route is never decided: remove ${undecided.map((k) => `\`${k}\``).join(', ')} or the bypass`);
    } else if (route.surface === undefined) {
      add(at, 'a route needs a `surface`, or `bypass: true` to forward without a decision', 'surface or bypass: true');
    }

    const deny = route.deny;
    if (deny?.mode === 'soft' && deny.action === 'forward')
      add([...at, 'deny', 'mode'], 'a soft denial falls back to a paywall or a redirect when the page cannot be cut: use it with `action: paywall` or `action: redirect`', 'action: paywall or redirect');
    if (deny?.action === 'redirect') {
      if (deny.url === undefined) add([...at, 'deny', 'url'], 'required when the action is redirect', 'an absolute URL or a path, e.g. /subscribe');
      else if (!REDIRECT_URL.test(deny.url))
        add([...at, 'deny', 'url'], 'not an absolute http(s) URL or a path starting with a single /', 'https://example.com/subscribe or /subscribe');
      if (deny.status !== undefined && (deny.status < 300 || deny.status > 399))
        add([...at, 'deny', 'status'], 'a redirect status must be 3xx', '302, 303 or 307');
    } else if (deny !== undefined) {
      if (deny.url !== undefined || deny.returnParam !== undefined) add([...at, 'deny'], '`url` and `returnParam` only apply to `action: redirect`');
      if (deny.action === 'paywall' && deny.status !== undefined && deny.status < 400)
        add([...at, 'deny', 'status'], 'a paywall status must be 4xx or 5xx', '402 (the default)');
    }
  });
  const last = gateway.routes.length - 1;
  if (last < 0 || gateway.routes[last].path !== '/**') {
    add(
      ['gateway', 'routes', Math.max(0, last), 'path'],
      "the last route must be the catch-all '/**' (with a surface or bypass: true), so that no path goes undecided",
      '/**',
    );
  }
  return issues;
}

/** A route pattern in the canonical form request paths take, so `/Caf%c3%a9` in the config matches the request `/caf%C3%A9`. */
export function compilePattern(path: string, caseSensitive: boolean): PatternSegment[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s): PatternSegment => {
      if (s === '**') return { kind: 'rest' };
      if (s === '*') return { kind: 'one' };
      const canonical = canonicalizeTarget('/' + s, { caseSensitive, allowPathParameters: false });
      return { kind: 'literal', text: canonical.ok ? (canonical.segments[0] ?? s) : s };
    });
}

/** The methods a route takes, HEAD implied by GET; undefined for every method. */
export function compileMethods(methods: readonly string[] | undefined): ReadonlySet<string> | undefined {
  return methods ? new Set(methods.includes('GET') ? [...methods, 'HEAD'] : methods) : undefined;
}
