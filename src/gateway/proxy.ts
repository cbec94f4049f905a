// The one upstream proxy, created at start-up: plain HTTP is forwarded with `http.request` on a
// keep-alive agent (no proxy library or middleware on the hot path), with our own error handling. The
// response is self-handled: the gateway writes the merged head itself, then pipes the upstream body
// through untouched, chunk by chunk, so SSE and large bodies stream and compressed bodies pass as they
// are. Websocket upgrades go through an `http-proxy` instance (`ws()`) on the same agent, after the
// pipeline decided them.
import type { Duplex } from 'node:stream';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import httpProxy from 'http-proxy';
import type { EngineLogger } from '../engine/engine.js';
import { errorResponse, ERRORS, type ErrorAnswer } from './error-pages.js';
import { upstreamHead, type ResponseHead } from './response-merge.js';
import { sendAnswer, writeHead } from './send.js';

export interface ProxyTimeouts {
  /** From forwarding until the upstream's response head: past it, 504. */
  headerTimeoutMs: number;
  /** No bytes from the upstream for this long while streaming: the response is cut. */
  idleTimeoutMs: number;
}

export interface ProxySettings extends ProxyTimeouts {
  /** `http(s)://host:port`; a path on it is ignored (the canonical path is forwarded as is). */
  upstream: string;
  logger: EngineLogger;
}

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The canonical path plus the query as received: the exact request target upstream receives. */
  target: string;
  /** Stripped client headers plus the injected ones. */
  headers: IncomingHttpHeaders;
  /** Turns the upstream's head into what the client gets (surface behavior, cookie, caching). */
  shapeHead: (head: ResponseHead) => ResponseHead;
  /** Headers to add to a gateway error page (the anonymous cookie, once a decision consumed under it). */
  errorHeaders?: Record<string, string | string[]>;
  /** Per request (they follow config reloads); the proxy's settings otherwise. */
  timeouts?: ProxyTimeouts;
  /** Called when the upstream's response head arrives. */
  onHead?: () => void;
}

export interface UpgradeRequest {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  target: string;
  /** Stripped client headers plus the injected ones (`Upgrade`/`Connection` are set back here). */
  headers: IncomingHttpHeaders;
  headerTimeoutMs: number;
  /** Appended to the upstream's 101 head (the anonymous cookie). */
  setCookies: readonly string[];
  /** Called once: the status the client got (101, the upstream's refusal, 502, 504) or 0 when it left first. */
  settled: (status: number) => void;
}

interface UpgradeInFlight {
  target: string;
  setCookies: readonly string[];
  settle: (status: number) => void;
  proxyReq?: http.ClientRequest;
}

interface InFlight {
  idleTimeoutMs: number;
  onHead?: () => void;
  shapeHead: (head: ResponseHead) => ResponseHead;
  fail: (error: ErrorAnswer, cause: string) => void;
  headerTimer?: NodeJS.Timeout;
  timedOut: boolean;
}

export interface UpstreamProxy {
  forward(request: ForwardRequest): void;
  upgrade(request: UpgradeRequest): void;
  close(): void;
}

export function createUpstreamProxy(settings: ProxySettings): UpstreamProxy {
  const target = new URL(settings.upstream);
  const secure = target.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const port = target.port || (secure ? '443' : '80');
  const defaultHost = target.host;
  // Websocket upgrades only (plain HTTP goes out through http.request in forward()).
  const proxy = httpProxy.createProxyServer({
    target: { protocol: target.protocol, host: target.hostname, hostname: target.hostname, port },
    agent,
    xfwd: false, // X-Forwarded-* are set by strip-headers per trustProxy
    changeOrigin: false, // the upstream sees the Host the visitor asked for
    toProxy: true, // take req.url as is: url.parse would re-escape the canonical path
    prependPath: false,
  });

  /** The upstream's response head arrived: shape it, write it, then stream the body through. */
  const respond = (state: InFlight, proxyRes: IncomingMessage, res: ServerResponse) => {
    clearTimeout(state.headerTimer);
    state.onHead?.();
    let head: ResponseHead;
    try {
      head = state.shapeHead(upstreamHead(proxyRes));
    } catch (error) {
      proxyRes.destroy();
      state.fail(ERRORS.upstreamUnreachable(), `shape-failed: ${(error as Error).message}`);
      return;
    }
    if (!writeHead(res, head)) {
      proxyRes.destroy();
      if (!res.headersSent) state.fail(ERRORS.upstreamUnreachable(), 'invalid-response-head');
      return;
    }
    // Each chunk is written as it arrives (SSE events included). A response of unknown length may be
    // a stream that sends its first event later: send its head now rather than with the first chunk.
    if (head.headers['content-length'] === undefined) res.flushHeaders();
    proxyRes.on('error', () => res.destroy());
    // The stream idle timeout: a timer re-armed on every chunk. (ClientRequest.setTimeout on a reused
    // keep-alive socket halved throughput in the benchmark; a refreshed timer costs next to nothing.)
    const idle = setTimeout(() => {
      settings.logger.event('warn', 'upstream-idle-timeout', { idleTimeoutMs: state.idleTimeoutMs });
      proxyRes.destroy();
      res.destroy();
    }, state.idleTimeoutMs);
    proxyRes.on('data', () => idle.refresh());
    proxyRes.once('close', () => clearTimeout(idle));
    proxyRes.pipe(res);
  };

  const wsInFlight = new WeakMap<IncomingMessage, UpgradeInFlight>();
  proxy.on('proxyReqWs', (proxyReq, req) => {
    const state = wsInFlight.get(req);
    if (state === undefined) return;
    state.proxyReq = proxyReq;
    proxyReq.path = state.target;
    // Registered before http-proxy's own listener, so the anonymous cookie is in the 101 it writes.
    proxyReq.once('upgrade', (proxyRes: IncomingMessage) => {
      if (state.setCookies.length > 0) proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), ...state.setCookies];
      state.settle(101);
    });
    proxyReq.once('response', (proxyRes: IncomingMessage) => state.settle(proxyRes.statusCode ?? 0)); // the upstream refused: its answer is relayed
  });

  return {
    forward({ req, res, target: requestTarget, headers, shapeHead, errorHeaders, timeouts = settings, onHead }) {
      const accept = req.headers.accept;
      const fail = (error: ErrorAnswer, cause: string) => {
        clearTimeout(state.headerTimer);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        settings.logger.event(error.status === 504 ? 'warn' : 'error', error.code, { cause });
        const page = errorResponse(error, accept);
        if (errorHeaders) Object.assign(page.head.headers, errorHeaders);
        sendAnswer(res, page);
      };
      const state: InFlight = { idleTimeoutMs: timeouts.idleTimeoutMs, onHead, shapeHead, fail, timedOut: false };
      // Plain HTTP goes out with http.request itself (http-proxy's per-request option merging and
      // header copying cost more than the rest of the forward): the header list is flat, in the
      // order of the headers object, so the upstream receives the same bytes as through http-proxy.
      const proxyReq = (secure ? https.request : http.request)({
        protocol: target.protocol,
        host: target.hostname,
        port,
        method: req.method,
        path: requestTarget, // exactly the canonical target
        headers: headerList(headers, req.method, defaultHost),
        agent,
        ...(secure ? { servername: serverName(headers.host, target.hostname) } : {}),
      });
      state.headerTimer = setTimeout(() => {
        state.timedOut = true;
        proxyReq.destroy();
      }, timeouts.headerTimeoutMs);

      // The visitor went away: stop the upstream request too.
      res.on('close', () => {
        clearTimeout(state.headerTimer);
        if (!res.writableFinished) proxyReq.destroy();
      });
      const onError = (err: NodeJS.ErrnoException) => {
        if (req.socket.destroyed && err.code === 'ECONNRESET') {
          proxyReq.destroy(); // the visitor left while the body was arriving: nothing to answer
          return;
        }
        if (res.destroyed && !state.timedOut) return; // the client is gone: nothing to answer
        if (state.timedOut) fail(ERRORS.upstreamTimeout(), 'header-timeout');
        else fail(ERRORS.upstreamUnreachable(), err.code ?? 'error');
      };
      req.on('error', onError);
      proxyReq.on('error', onError);
      proxyReq.on('response', (proxyRes: IncomingMessage) => respond(state, proxyRes, res));
      req.pipe(proxyReq); // request bodies stream (backpressure included)
    },
    upgrade({ req, socket, head, target: requestTarget, headers, headerTimeoutMs, setCookies, settled }) {
      let done = false;
      const settle = (status: number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        settled(status);
      };
      const fail = (error: ErrorAnswer, cause: string) => {
        settings.logger.event(error.status === 504 ? 'warn' : 'error', error.code, { cause, websocket: true });
        if (!done) writeSocketStatus(socket, error.status, error.code);
        settle(error.status);
        socket.destroy();
      };
      const timer = setTimeout(() => {
        wsInFlight.get(req)?.proxyReq?.destroy();
        fail(ERRORS.upstreamTimeout(), 'header-timeout');
      }, headerTimeoutMs);
      socket.once('close', () => settle(0));
      wsInFlight.set(req, { target: requestTarget, setCookies, settle });
      req.url = requestTarget;
      // Stripping removed the client's hop-by-hop headers; an upgrade needs exactly these two back.
      req.headers = { ...headers, connection: 'Upgrade', upgrade: 'websocket' };
      proxy.ws(req, socket, head, {}, (err) => fail(ERRORS.upstreamUnreachable(), (err as NodeJS.ErrnoException).code ?? 'error'));
    },
    close() {
      proxy.close();
      agent.destroy();
    },
  };
}

/** A short plain-text HTTP answer on a socket that never became a websocket, then the end of it. */
export function writeSocketStatus(socket: Duplex, status: number, text: string, extraHeaders: Record<string, string | readonly string[]> = {}): void {
  if (!socket.writable) return;
  const body = `${status} ${text}\n`;
  let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: private, no-store\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(extraHeaders)) for (const v of typeof value === 'string' ? [value] : value) head += `${name}: ${v}\r\n`;
  socket.end(`${head}\r\n${body}`);
}

/**
 * The outgoing header list, flat (name, value, name, value ...), in the headers object's order. Like
 * http-proxy did: DELETE and OPTIONS without a length get `Content-Length: 0`, and a request without
 * `Host` (HTTP/1.0) gets the upstream's authority, as Node adds it for a headers object.
 */
function headerList(headers: IncomingHttpHeaders, method: string | undefined, defaultHost: string): string[] {
  const list: string[] = [];
  let host = false;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name === 'host') host = true;
    if (typeof value === 'string') list.push(name, value);
    else for (const v of value) list.push(name, v);
  }
  if ((method === 'DELETE' || method === 'OPTIONS') && !headers['content-length']) list.push('content-length', '0');
  if (!host) list.push('Host', defaultHost);
  return list;
}

/** The TLS server name Node's https agent derives from a `Host` header object (no port; never an IP). */
function serverName(host: string | undefined, fallback: string): string {
  let name = fallback;
  if (host) {
    const close = host.indexOf(']');
    name = host.startsWith('[') ? (close === -1 ? host : host.slice(1, close)) : host.split(':', 1)[0];
  }
  return isIP(name) ? '' : name;
}
