// The decision API on the gateway port (docs/gateway.md "The decision API on the gateway port"): requests under the mount path go to the API
// app instead of the pipeline. The match is on the raw target at a segment boundary (`/plangate-api`
// matches `/plangate-api`, `/plangate-api/...` and `/plangate-api?...`, never `/plangate-apix`), and
// the prefix is removed from `req.url` the way express mounts a sub-app, so the app sees its own paths.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ApiMountOptions {
  /** `/plangate-api` style: starts with `/`, not `/` alone. */
  mountPath: string;
  /** The API app (`createApiApp` from src/api/app.ts), or any node request handler. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface ApiMount {
  /** The mount path without a trailing slash. */
  path: string;
  matches(url: string): boolean;
  /** Strips the prefix from `req.url` (keeping `originalUrl`) and hands the request to the app. */
  serve(req: IncomingMessage, res: ServerResponse): void;
}

export function createApiMount(options: ApiMountOptions): ApiMount {
  const path = options.mountPath.replace(/\/+$/, '');
  if (!path.startsWith('/') || path === '') {
    throw new Error(`API mount path '${options.mountPath}': must start with / and name a prefix (e.g. /plangate-api); mounting at / would hide the whole site`);
  }
  const matches = (url: string): boolean => url.startsWith(path) && (url.length === path.length || url[path.length] === '/' || url[path.length] === '?');
  return {
    path,
    matches,
    serve(req, res) {
      const url = req.url ?? '/';
      (req as { originalUrl?: string }).originalUrl = url;
      const rest = url.slice(path.length);
      req.url = rest.startsWith('/') ? rest : `/${rest}`;
      options.handler(req, res);
    },
  };
}
