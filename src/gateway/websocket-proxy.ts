// Websocket upgrades the pipeline allowed (docs/gateway.md#websockets): the handshake goes to the
// upstream with node:http's client. A 101 joins the two sockets, with an idle timeout; any other
// answer is a decided response like any other: shaped (the anonymous cookie, private caching),
// written with honest framing, then the connection closes. Our own relay rather than http-proxy's
// ws(), which wrote a refusal's raw head (public caching, `Transfer-Encoding: chunked` over a
// de-chunked body) before anything could shape it.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EngineLogger } from '../engine/engine.js';
import { ERRORS, type ErrorAnswer } from './error-pages.js';
import { upstreamHead, type HeaderRecord, type ResponseHead } from './response-merge.js';

export interface UpgradeRequest {
  socket: Duplex;
  /** Bytes the client sent after its handshake (the first frames): passed on once the upstream switched. */
  head: Buffer;
  /** The exact request target the upstream receives. */
  target: string;
  /** Stripped client headers plus the injected ones (`Upgrade`/`Connection` are set back here). */
  headers: IncomingHttpHeaders;
  /** From the handshake until the upstream's answer: past it, 504. */
  headerTimeoutMs: number;
  /** An open websocket (or a refusal's body) with no bytes either way for this long is closed. */
  idleTimeoutMs: number;
  /** Shapes the upstream's answer when it is not a 101, like any decided response's head. */
  shapeHead: (head: ResponseHead) => ResponseHead;
  /** Appended to the upstream's 101 head (the anonymous cookie). */
  setCookies: readonly string[];
  /** Called once: the status the client got (101, the upstream's refusal, 502, 504) or 0 when it left first. */
  settled: (status: number) => void;
}

export interface WebsocketRelay {
  upgrade(request: UpgradeRequest): void;
  close(): void;
}

export function createWebsocketRelay(settings: { upstream: URL; logger: EngineLogger }): WebsocketRelay {
  const { upstream, logger } = settings;
  const secure = upstream.protocol === 'https:';
  const client = secure ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  const port = upstream.port || (secure ? '443' : '80');

  return {
    upgrade({ socket, head, target, headers, headerTimeoutMs, idleTimeoutMs, shapeHead, setCookies, settled }) {
      // The listener's idle timeout waits while the upstream handshakes (headerTimeoutMs bounds that).
      (socket as Socket).setTimeout(0);
      let done = false;
      const settle = (status: number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        settled(status);
        // From here on, silence either way closes the connection.
        if (status !== 0) (socket as Socket).setTimeout(idleTimeoutMs, () => socket.destroy());
      };
      const outgoing: IncomingHttpHeaders = {};
      for (const name in headers) if (headers[name] !== undefined) outgoing[name] = headers[name];
      // Stripping removed the client's hop-by-hop headers; an upgrade needs exactly these two back.
      outgoing.connection = 'Upgrade';
      outgoing.upgrade = 'websocket';
      const options: https.RequestOptions = {
        agent,
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port,
        method: 'GET',
        path: target,
        headers: outgoing,
      };
      // The TLS server name is the host the visitor asked for, as on plain requests (none for an address).
      const name = hostName(headers.host);
      if (secure && name !== undefined) options.servername = name;
      const proxyReq = client.request(options);
      const fail = (error: ErrorAnswer, cause: string) => {
        logger.event(error.status === 504 ? 'warn' : 'error', error.code, { cause, websocket: true });
        if (!done) writeSocketStatus(socket, error.status, error.code);
        settle(error.status);
        proxyReq.destroy();
        socket.destroy();
      };
      const timer = setTimeout(() => fail(ERRORS.upstreamTimeout(), 'header-timeout'), headerTimeoutMs);
      socket.once('close', () => {
        settle(0);
        proxyReq.destroy();
      });

      proxyReq.once('upgrade', (switched: IncomingMessage, upstreamSocket: Socket, upstreamFirst: Buffer) => {
        if (done || !socket.writable) {
          upstreamSocket.destroy();
          return;
        }
        socket.write(switchingHead(switched, setCookies));
        settle(101);
        if (upstreamFirst.length > 0) socket.write(upstreamFirst);
        if (head.length > 0) upstreamSocket.write(head);
        upstreamSocket.setNoDelay(true);
        (socket as Socket).setNoDelay(true);
        upstreamSocket.on('error', () => socket.destroy());
        upstreamSocket.once('close', () => socket.destroy());
        socket.once('close', () => upstreamSocket.destroy());
        upstreamSocket.pipe(socket).pipe(upstreamSocket);
      });
      // The upstream refused the upgrade: its answer is shaped like any decided response's.
      proxyReq.once('response', (refusal: IncomingMessage) => {
        if (done) {
          refusal.destroy();
          return;
        }
        let shaped: ResponseHead;
        try {
          shaped = shapeHead(upstreamHead(refusal));
        } catch (error) {
          refusal.destroy();
          fail(ERRORS.upstreamUnreachable(), `shape-failed: ${(error as Error).message}`);
          return;
        }
        socket.write(closingHead(shaped.status, shaped.statusText, shaped.headers));
        settle(shaped.status);
        refusal.on('error', () => socket.destroy());
        refusal.pipe(socket);
      });
      proxyReq.on('error', (error: NodeJS.ErrnoException) => fail(ERRORS.upstreamUnreachable(), error.code ?? 'error'));
      proxyReq.end();
    },
    close() {
      agent.destroy();
    },
  };
}

/** A short plain-text HTTP answer on a socket that never became a websocket, then the end of it. */
export function writeSocketStatus(socket: Duplex, status: number, text: string, extraHeaders: HeaderRecord = {}): void {
  if (!socket.writable) return;
  const body = `${status} ${text}\n`;
  const headers: HeaderRecord = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'private, no-store',
    ...extraHeaders,
  };
  socket.end(closingHead(status, undefined, headers) + body);
}

/**
 * An HTTP/1.1 response head for a connection that closes after the body: no transfer coding (the
 * close ends the body when there is no `Content-Length`), `Connection: close`.
 */
function closingHead(status: number, statusText: string | undefined, headers: HeaderRecord): string {
  let text = `HTTP/1.1 ${status} ${statusText ?? http.STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name in headers) {
    if (name === 'connection' || name === 'transfer-encoding') continue;
    const value = headers[name];
    for (const v of typeof value === 'string' ? [value] : value) text += `${name}: ${v}\r\n`;
  }
  return `${text}connection: close\r\n\r\n`;
}

/** The upstream's 101 as it sent it (names and order), plus the gateway's cookies. */
function switchingHead(switched: IncomingMessage, setCookies: readonly string[]): string {
  let text = 'HTTP/1.1 101 Switching Protocols\r\n';
  const raw = switched.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  for (const cookie of setCookies) text += `set-cookie: ${cookie}\r\n`;
  return `${text}\r\n`;
}

/** The name in a `Host` header, without the port; undefined for an address or no header. */
function hostName(host: string | string[] | undefined): string | undefined {
  if (typeof host !== 'string' || host === '') return undefined;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0];
  return isIP(name) === 0 ? name : undefined;
}
