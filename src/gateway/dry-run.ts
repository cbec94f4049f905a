// Which requests the gateway decides as dry runs (docs/gateway.md#dry-runs): computed as if consumed,
// nothing recorded, and never a way to get content for free. A HEAD and a CORS preflight are
// forwarded and answered without a body; a prefetch of a route that consumes or requires something
// is answered by the gateway itself (see the pipeline). Every other request, OPTIONS included, is real.
import type { IncomingHttpHeaders } from 'node:http';

export type DryRun = 'head' | 'preflight' | 'prefetch';

/** The dry-run kind of a request, or undefined for a real one. A prefetch wins over the method. */
export function dryRunOf(method: string, headers: IncomingHttpHeaders): DryRun | undefined {
  if (isPrefetch(headers)) return 'prefetch';
  if (method === 'HEAD') return 'head';
  // Only a CORS preflight: any other OPTIONS reaches the site's handler like a GET and is decided like one.
  if (method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined) return 'preflight';
  return undefined;
}

/**
 * Whether a browser marked the request as speculative: `Sec-Purpose` (a structured list:
 * `prefetch`, `prefetch;prerender`), the older `Purpose` and `X-Purpose` (`prefetch`, Safari's
 * `preview`) and Firefox's `X-Moz: prefetch`; any case, any item of a list or of repeated headers.
 */
export function isPrefetch(headers: IncomingHttpHeaders): boolean {
  return (
    listHas(headers['sec-purpose'], PREFETCH) ||
    listHas(headers.purpose, PREFETCH_OR_PREVIEW) ||
    listHas(headers['x-purpose'], PREFETCH_OR_PREVIEW) ||
    listHas(headers['x-moz'], PREFETCH)
  );
}

const PREFETCH: readonly string[] = ['prefetch'];
const PREFETCH_OR_PREVIEW: readonly string[] = ['prefetch', 'preview'];

/** Whether a comma-separated list (Node joins repeated headers with `, `) has one of `tokens`, parameters (`;...`) aside. */
function listHas(value: string | string[] | undefined, tokens: readonly string[]): boolean {
  if (value === undefined) return false;
  for (const item of (typeof value === 'string' ? value : value.join(',')).split(',')) {
    const semicolon = item.indexOf(';');
    const bare = (semicolon === -1 ? item : item.slice(0, semicolon)).trim().toLowerCase();
    if (tokens.includes(bare)) return true;
  }
  return false;
}
