// Which routes guard their content: a route that requires or consumes something, declared on the
// route or on its surface. The gateway refuses prefetches of them (docs/gateway.md#dry-runs), and a
// guarded `/section/*` above an unguarded catch-all leaves `/section/page/anything` unguarded (the
// warning below: many sites serve the page for any extra segment). One owner for both rules.
import type { IssueCollector } from './locate.js';
import type { RouteConfig, SurfaceConfig } from './schema.js';

/** Whether the route requires or consumes something (its own `require`/`consume`, or its surface's `consume`). */
export function routeGuards(route: RouteConfig, surfaces: Readonly<Record<string, SurfaceConfig>>): boolean {
  if (route.bypass === true) return false;
  if (route.require !== undefined || (route.consume?.length ?? 0) > 0) return true;
  const surface = route.surface === undefined || !Object.hasOwn(surfaces, route.surface) ? undefined : surfaces[route.surface];
  return (surface?.consume?.length ?? 0) > 0;
}

type Segment = string;

/**
 * Warns, at the route's path, when a guarded route ending in a one-segment `*` is followed by an
 * unguarded route that takes the paths one segment deeper (`/articles/*` then `/**`): those paths
 * are served unguarded unless a guarded route in between takes all of them.
 */
export function checkDeeperPaths(
  routes: readonly RouteConfig[],
  surfaces: Readonly<Record<string, SurfaceConfig>>,
  caseSensitive: boolean,
  issues: IssueCollector,
): void {
  const patterns = routes.map((route) => segmentsOf(route.path, caseSensitive));
  routes.forEach((route, i) => {
    const pattern = patterns[i];
    if (pattern.at(-1) !== '*' || !routeGuards(route, surfaces)) return;
    const deeper = [...pattern, '*'];
    const base = route.path.replace(/\/$/, '');
    for (let j = i + 1; j < routes.length; j++) {
      if (!mayMatch(patterns[j], deeper)) continue;
      if (!routeGuards(routes[j], surfaces)) {
        issues.warn(
          ['gateway', 'routes', i, 'path'],
          `'${route.path}' guards one segment only: ${base}/<more> goes to routes[${j}] '${routes[j].path}', which neither requires nor consumes; ` +
            `a site that serves the page for extra segments gives it away there. Use '${base.slice(0, -1)}**', or guard the deeper paths too`,
        );
        return;
      }
      // A guarded route taking every deeper path (`/articles/**`, no method filter) closes the gap.
      if (routes[j].methods === undefined && takesAll(patterns[j], deeper)) return;
    }
  });
}

function segmentsOf(path: string, caseSensitive: boolean): Segment[] {
  const text = caseSensitive ? path : path.toLowerCase();
  return text.split('/').filter((s) => s !== '');
}

/** Whether `pattern` matches some path of the shape `shape` (literals and `*`) plus any further segments. */
function mayMatch(pattern: readonly Segment[], shape: readonly Segment[]): boolean {
  for (let k = 0; k < pattern.length; k++) {
    if (pattern[k] === '**') return true;
    if (k >= shape.length) return true; // the path may continue past the shape
    if (pattern[k] !== '*' && shape[k] !== '*' && pattern[k] !== shape[k]) return false;
  }
  return pattern.length >= shape.length;
}

/** Whether `pattern` matches every path of the shape `shape` plus any further segments. */
function takesAll(pattern: readonly Segment[], shape: readonly Segment[]): boolean {
  for (let k = 0; k < pattern.length; k++) {
    if (pattern[k] === '**') return true;
    if (k >= shape.length || (pattern[k] !== '*' && pattern[k] !== shape[k])) return false;
  }
  return false;
}
