// The one upstream proxy, created at start-up. Plain HTTP is forwarded with undici's `Pool` (the
// Node.js project's HTTP client) through its low-level `dispatch` API: no proxy library or middleware
// on the hot path, and about half the CPU per request of `http.request` or http-proxy in the
// benchmark (docs/gateway.md). The response is self-handled: the gateway writes the merged head
// itself, then writes the upstream body through untouched, chunk by chunk, with backpressure, so SSE
// and large bodies stream and compressed bodies pass as they are, unless the decision has components
// to apply to an HTML page: then the body streams through the transform (component-response.ts).
// Websocket upgrades go through the relay in websocket-proxy.ts after the pipeline decided them.
import { EVENTS, type EventLogger } from '../events.js';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { Coding } from './components/index.js';
import type { ComponentPlan } from './component-plan.js';
import { openTransform, routeResponse, settleTransformedHead, transformedHead, type TransformedBody } from './component-response.js';
import { errorResponse, ERRORS, type UpstreamFailure } from './error-pages.js';
import { upstreamHead, type GatewayAdditions, type ResponseHead } from './response-merge.js';
import { sendAnswer, writeHead } from './send.js';
import { createWebsocketRelay, type UpgradeRequest } from './websocket-proxy.js';

export interface ProxyTimeouts {
  /** From forwarding until the upstream's response head: past it, 504. */
  headerTimeoutMs: number;
  /** No bytes from the upstream for this long while streaming: the response is cut. */
  idleTimeoutMs: number;
}

export interface ProxySettings extends ProxyTimeouts {
  /** `http(s)://host:port`; a path on it is ignored (the canonical path is forwarded as is). */
  upstream: string;
  logger: EventLogger;
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
  /** Never write the upstream's body to the client (a HEAD, a CORS preflight), whatever the upstream sends. */
  bodyless?: boolean;
  /** The request's cookies go on a gateway error page too (the anonymous id a decision consumed under). */
  additions?: GatewayAdditions;
  /** Per request (they follow config reloads); the proxy's settings otherwise. */
  timeouts?: ProxyTimeouts;
  /** Gets the time from forwarding to the upstream's response head (`upstreamMs`), when given. */
  timing?: UpstreamTiming;
  /** Components to apply to an HTML response; with `hardDenial`, a soft denial (cut, or the hard denial). */
  components?: ComponentPlan;
}

export interface UpstreamTiming {
  /** `performance.now()` when the request was forwarded. */
  forwardedAt: number;
  /** Set when the upstream's response head arrives. */
  upstreamMs: number | undefined;
}

export interface UpstreamProxy {
  forward(request: ForwardRequest): void;
  upgrade(request: UpgradeRequest): void;
  close(): void;
}

export function createUpstreamProxy(settings: ProxySettings): UpstreamProxy {
  const target = new URL(settings.upstream);
  // Plain HTTP: one pool of keep-alive connections to the upstream. A connection that cannot be made
  // within the header timeout counts as the upstream not answering in time (504), like a late head.
  const pool = new Pool(target.origin, {
    pipelining: 1,
    connectTimeout: settings.headerTimeoutMs,
    headersTimeout: settings.headerTimeoutMs,
    bodyTimeout: settings.idleTimeoutMs,
  });
  const websockets = createWebsocketRelay({ upstream: target, logger: settings.logger });

  return {
    forward(request) {
      const timeouts = request.timeouts ?? settings;
      const { req } = request;
      pool.dispatch(
        {
          path: request.target, // exactly the canonical target
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: headerList(request.headers, req.method),
          body: hasBody(req) ? req : null, // request bodies stream (backpressure included)
          headersTimeout: timeouts.headerTimeoutMs,
          bodyTimeout: timeouts.idleTimeoutMs,
        },
        new ForwardHandler(request, timeouts.idleTimeoutMs, settings.logger),
      );
    },
    upgrade(request) {
      websockets.upgrade(request);
    },
    close() {
      websockets.close();
      void pool.destroy().catch(() => undefined);
    },
  };
}

/**
 * One forwarded request, as undici's dispatch handler: the upstream's head is shaped and written,
 * the body written through chunk by chunk, and any failure before the head becomes the gateway's
 * 502/504 page. A class, so every request's handler has the same shape.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private headWritten = false;
  /** The gateway answered instead of the upstream (a soft denial's hard denial): later upstream events are ignored. */
  private replaced = false;
  /** Set when the body streams through the component transform. */
  private body: TransformedBody | undefined;

  constructor(
    private readonly request: ForwardRequest,
    private readonly idleTimeoutMs: number,
    private readonly logger: EventLogger,
  ) {
    // The visitor went away: stop the upstream request too.
    request.res.once('close', () => {
      this.body?.destroy();
      if (!request.res.writableFinished) this.controller?.abort(new Error('client closed'));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.request.res.destroyed) controller.abort(new Error('client closed'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx informational heads are not relayed
    const { res } = this.request;
    const { timing } = this.request;
    if (timing !== undefined) timing.upstreamMs = performance.now() - timing.forwardedAt;
    const upstream = upstreamHead({ statusCode, statusMessage, headers });
    const { components } = this.request;
    if (components !== undefined && this.request.bodyless !== true) {
      const route = routeResponse(upstream, components.hardDenial !== undefined);
      if (route.kind === 'refuse') return this.replace(controller, route.reason, route.detail);
      if (route.kind === 'transform') return this.transform(controller, upstream, components, route.codings);
    }
    const head = this.writeShapedHead(controller, upstream);
    // A response of unknown length may be a stream that sends its first event later: send its head now.
    if (head !== undefined && head.headers['content-length'] === undefined) res.flushHeaders();
  }

  /** Shapes the head (surface behavior, cookie, caching) and writes it; on failure answers 502 and returns undefined. */
  private writeShapedHead(controller: Dispatcher.DispatchController, upstream: ResponseHead, adjust?: (head: ResponseHead) => void): ResponseHead | undefined {
    const { res } = this.request;
    let head: ResponseHead;
    try {
      head = this.request.shapeHead(upstream);
      adjust?.(head);
    } catch (error) {
      controller.abort(error as Error);
      this.fail(ERRORS.upstreamUnreachable(), `shape-failed: ${(error as Error).message}`);
      return undefined;
    }
    if (!writeHead(res, head)) {
      controller.abort(new Error('invalid response head'));
      if (!res.headersSent) this.fail(ERRORS.upstreamUnreachable(), 'invalid-response-head');
      return undefined;
    }
    this.headWritten = true;
    return head;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const { res } = this.request;
    if (this.body !== undefined) {
      // Into the transform; its output goes to the client once the head is written (see transform()).
      if (!this.body.input.destroyed && !this.body.input.write(chunk)) {
        controller.pause();
        this.body.input.once('drain', () => controller.resume());
      }
      return;
    }
    if (!this.headWritten || res.destroyed || this.request.bodyless === true) return;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.body !== undefined) {
      if (!this.body.input.destroyed) this.body.input.end();
      return;
    }
    if (this.headWritten) this.request.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.replaced) return;
    this.body?.destroy();
    const { req, res } = this.request;
    if (res.destroyed || req.socket.destroyed) {
      res.destroy(); // the visitor left (mid-upload or mid-response): nothing to answer
      return;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (this.headWritten || res.headersSent) {
      // Mid-body: the status is gone; cutting the connection is the only way to say the body is incomplete.
      if (code === 'UND_ERR_BODY_TIMEOUT') this.logger.event('warn', 'upstream-idle-timeout', { idleTimeoutMs: this.idleTimeoutMs });
      res.destroy();
      return;
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') this.fail(ERRORS.upstreamTimeout(), 'header-timeout');
    else this.fail(ERRORS.upstreamUnreachable(), upstreamCause(error));
  }

  /**
   * The body streams through the component transform: decoded, transformed, re-encoded. The head
   * waits for the transform's `ready`: on a soft denial, until every cut has begun (the page is cut,
   * or the hard denial goes instead and not one byte of the page leaves).
   */
  private transform(controller: Dispatcher.DispatchController, upstream: ResponseHead, plan: ComponentPlan, codings: Coding[]): void {
    const { req, res } = this.request;
    const body = openTransform(plan, { headers: upstream.headers, codings }, req);
    this.body = body;
    const soft = plan.hardDenial !== undefined;
    let settled = false;
    body.failed.then((error) => {
      if (this.replaced || res.destroyed) return;
      if (!settled) {
        // The upstream failed first and its error page went out (onResponseError): nothing more to do.
        if (res.headersSent) return;
        // Before the head: the upstream's body could not be decoded (or the rewriter failed).
        settled = true;
        if (soft) return this.replace(controller, 'decode-failed', error.message);
        controller.abort(error);
        return this.fail(ERRORS.upstreamUnreachable(), `transform-failed: ${error.message}`);
      }
      if (!this.headWritten) return; // the head could not be written: the 502 page went out instead
      // The page has begun to go out: cutting the connection is the only way to say it is incomplete.
      this.logger.event('warn', 'component-stream-failed', { reason: (error as { code?: string }).code ?? 'error', error: error.message });
      controller.abort(error);
      res.destroy();
    });
    void body.ready.then((ready) => {
      if (settled || this.replaced || res.destroyed || res.headersSent) return;
      settled = true;
      if (!ready.ok) return this.replace(controller, ready.reason, ready.detail, ready.component);
      const settle = (head: ResponseHead) => settleTransformedHead(head, soft);
      if (this.writeShapedHead(controller, transformedHead(upstream, body.coding, codings.length > 0), settle) === undefined) {
        body.destroy();
        return;
      }
      res.flushHeaders();
      body.output.on('data', (chunk: Buffer) => {
        if (!res.write(chunk)) {
          body.output.pause();
          res.once('drain', () => body.output.resume());
        }
      });
      body.output.once('end', () => res.end());
    });
    void body.done.then((report) => {
      if (report.problems.length > 0 && !this.replaced)
        this.logger.event('info', 'component-problems', { problems: report.problems.map((p) => `${p.component ?? '-'}: ${p.reason}`), charset: report.charset });
    });
  }

  /** A soft denial whose page cannot be cut: the upstream's response is dropped and the hard denial sent instead. */
  private replace(controller: Dispatcher.DispatchController, reason: string, detail: string, component?: string): void {
    this.replaced = true;
    this.body?.destroy();
    controller.abort(new Error('replaced by the hard denial'));
    const { res } = this.request;
    const hard = this.request.components?.hardDenial;
    this.logger.event('warn', 'soft-denial-replaced', component === undefined ? { reason, detail } : { reason, component, detail });
    if (hard === undefined || res.headersSent) {
      res.destroy();
      return;
    }
    sendAnswer(res, hard);
  }

  private fail(error: UpstreamFailure, cause: string): void {
    const { req, res, additions } = this.request;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.logger.event(EVENTS[error.code].level, error.code, { cause });
    const page = errorResponse(error, req.headers.accept);
    if (additions !== undefined && additions.setCookies.length > 0) page.head.headers['set-cookie'] = [...additions.setCookies];
    sendAnswer(res, page);
  }
}

/** A short, stable cause for the log: the system error code (ECONNREFUSED, ...) or undici's. */
function upstreamCause(error: Error): string {
  const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
  return (error as NodeJS.ErrnoException).code ?? cause?.code ?? 'error';
}

/** Whether the client sent a body (a length above zero, or chunked): else nothing is streamed upstream. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The outgoing header list, flat (name, value, name, value ...), in the headers object's order.
 * DELETE and OPTIONS without a length get `Content-Length: 0` (as http-proxy did). `Expect` is
 * answered by the gateway's own server (100 Continue) and not forwarded. A request without `Host`
 * (HTTP/1.0) gets the upstream's authority from undici.
 */
function headerList(headers: IncomingHttpHeaders, method: string | undefined): string[] {
  const list: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name === 'expect') continue;
    if (typeof value === 'string') list.push(name, value);
    else for (const v of value) list.push(name, v);
  }
  if ((method === 'DELETE' || method === 'OPTIONS') && !headers['content-length']) list.push('content-length', '0');
  return list;
}
