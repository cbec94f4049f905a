// The decision API's own listener, one log line per request (code `api-request`) and a count per
// endpoint and status class. The handler is wrapped here rather than inside the API app, so the API
// stays a library that logs nothing about its traffic. (The API mounted on the gateway port is
// logged and counted as a gateway request, route `<mountPath>/**`.)
//
// Fields are picked one by one (never the body, a header other than the user agent, or the key).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EventCode } from '../events.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

const CODE: EventCode = 'api-request';
const MAX_PATH = 2048;
const MAX_USER_AGENT = 512;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Express leaves the matched route on the request (its path and the router's base). */
interface RoutedRequest extends IncomingMessage {
  route?: { path?: unknown };
  baseUrl?: string;
}

export function apiAccessLog(handler: Handler, options: { logger: Logger; metrics: Metrics }): Handler {
  const { logger, metrics } = options;
  const bytesBefore = new WeakMap<Socket, number>();
  return (req, res) => {
    const started = performance.now();
    const requestId = randomUUID();
    const socket = req.socket;
    res.setHeader('x-request-id', requestId);
    res.once('close', () => {
      const routed = req as RoutedRequest;
      const endpoint = typeof routed.route?.path === 'string' ? (routed.baseUrl ?? '') + routed.route.path : '-';
      const status = res.headersSent ? res.statusCode : 0;
      metrics.apiRequestDone(endpoint, status);
      const written = socket.bytesWritten;
      const bytes = written - (bytesBefore.get(socket) ?? 0);
      bytesBefore.set(socket, written);
      if (logger.levelVal > 30) return;
      const url = req.url ?? '';
      const query = url.indexOf('?');
      const agent = req.headers['user-agent'];
      logger.info({
        code: CODE,
        requestId,
        method: req.method,
        path: (query < 0 ? url : url.slice(0, query)).slice(0, MAX_PATH),
        endpoint,
        client: socket.remoteAddress,
        userAgent: agent?.slice(0, MAX_USER_AGENT),
        status,
        bytes,
        completed: res.writableFinished,
        totalMs: Math.round((performance.now() - started) * 1000) / 1000,
      });
    });
    handler(req, res);
  };
}
