// Upstreams for tests, real HTTP servers on loopback: a site that behaves like a real one (its own
// Set-Cookie and `Cache-Control: public` on every response; it records the exact request target it
// received), and an echo that answers with what plangate told it. Shared by every harness.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  /** The request target exactly as the upstream received it. */
  target: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => boolean | void;

export interface Upstream {
  url: string;
  seen: SeenRequest[];
  /** Special paths; return true when handled. */
  handlers: Map<string, UpstreamHandler>;
  close(): Promise<void>;
}

export const UPSTREAM_COOKIE = 'site_session=abc; Path=/; HttpOnly';

export async function startUpstream(): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const handlers = new Map<string, UpstreamHandler>();
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    const path = (req.url ?? '').split('?')[0];
    const special = handlers.get(path);
    if (special && special(req, res)) return;
    const body = JSON.stringify({ target: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': UPSTREAM_COOKIE, 'cache-control': 'public, max-age=600' });
    res.end(body);
  });
  const url = await listen(server);
  return { url, seen, handlers, close: () => closeServer(server) };
}

export interface EchoUpstream {
  url: string;
  /** Requests seen, with plangate's headers. */
  seen: { target: string; headers: IncomingMessage['headers'] }[];
  /** Milliseconds `/slow` waits before answering. */
  slowMs: number;
  close(): Promise<void>;
}

/** Answers JSON with the plans and the surface properties plangate sent (decoded). */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: EchoUpstream['seen'] = [];
  const upstream: EchoUpstream = { url: '', seen, slowMs: 500, close: () => closeServer(server) };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ target: req.url ?? '', headers: req.headers });
    const raw = req.headers['x-plangate-surface-properties'];
    const surface = typeof raw === 'string' ? JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) : null;
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          target: req.url,
          plans: req.headers['x-plangate-plans'] ?? null,
          surface,
          articles: req.headers['x-plangate-articles--enabled'] ?? null,
        }),
      );
    };
    if (req.url === '/slow') setTimeout(answer, upstream.slowMs);
    else answer();
  });
  upstream.url = await listen(server);
  return upstream;
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
