// The gateway's own error answers: 400 (a rejected request target), 401 (invalidJwt: reject), 500
// (the decision failed), 502 (upstream unreachable), 503 (load shed, with Retry-After; or a prefetch
// of a metered page, refused) and 504 (upstream too slow to answer). HTML for browsers, JSON for API
// clients; never a stack trace or an internal message.
import { statusOf, type ErrorCode } from '../errors.js';
import type { ResponseHead } from './response-merge.js';

export interface ErrorAnswer {
  status: number;
  /** Sent as Retry-After (load shedding). */
  retryAfterSeconds?: number;
  /** Stable code (src/errors.ts) for logs and the JSON body, e.g. `upstream-unreachable`, `path-encoded-slash`. */
  code: ErrorCode | `path-${string}`;
  message: string;
}

/** The answers that are also logged events (their level is the catalogue's, src/events.ts). */
export type UpstreamFailure = ErrorAnswer & { code: 'upstream-unreachable' | 'upstream-timeout' };

export const ERRORS = {
  badPath: (reason: string): ErrorAnswer => ({
    status: statusOf('path-rejected'),
    code: `path-${reason}`,
    message: `The request path was rejected (${reason}).`,
  }),
  invalidToken: (): ErrorAnswer => ({ status: statusOf('invalid-token'), code: 'invalid-token', message: 'The login token was rejected. Sign in again.' }),
  decisionFailed: (): ErrorAnswer => ({
    status: statusOf('decision-failed'),
    code: 'decision-failed',
    message: 'The request could not be decided. Try again later.',
  }),
  overloaded: (retryAfterSeconds: number): ErrorAnswer => ({
    status: statusOf('overloaded'),
    code: 'overloaded',
    message: 'The site is very busy right now. Try again in a moment.',
    retryAfterSeconds,
  }),
  upstreamUnreachable: (): UpstreamFailure => ({
    status: statusOf('upstream-unreachable'),
    code: 'upstream-unreachable',
    message: 'The site behind this gateway could not be reached.',
  }),
  // 503 is what browsers and CDNs already use to refuse a prefetch: the browser drops it and fetches
  // again when the reader opens the page (docs/gateway.md#dry-runs).
  prefetchRefused: (): ErrorAnswer => ({
    status: statusOf('prefetch-refused'),
    code: 'prefetch-refused',
    message: 'This page is not prefetched: it loads when you open it.',
  }),
  upstreamTimeout: (): UpstreamFailure => ({
    status: statusOf('upstream-timeout'),
    code: 'upstream-timeout',
    message: 'The site behind this gateway did not answer in time.',
  }),
};

/** JSON when the client asks for JSON and not for HTML (browsers always list text/html; curl sends *\/*). */
export function wantsJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const lower = accept.toLowerCase();
  return (lower.includes('application/json') || lower.includes('+json')) && !lower.includes('text/html');
}

const HTML_SPECIAL = /[&<>"']/g;

export function escapeHtml(value: string): string {
  return value.replace(HTML_SPECIAL, (c) => `&#${c.charCodeAt(0)};`);
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  500: 'Internal Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function errorResponse(error: ErrorAnswer, accept: string | undefined): { head: ResponseHead; body: string } {
  const json = wantsJson(accept);
  const body = json
    ? JSON.stringify({ status: 'error', statusCode: error.status, code: error.code, message: error.message })
    : `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${error.status} ${STATUS_TITLES[error.status] ?? 'Error'}</title></head>` +
      `<body><h1>${error.status} ${STATUS_TITLES[error.status] ?? 'Error'}</h1><p>${escapeHtml(error.message)}</p></body></html>\n`;
  const head = documentHead(error.status, body, json, 'no-store');
  if (error.retryAfterSeconds !== undefined) head.headers['retry-after'] = String(error.retryAfterSeconds);
  return { head, body };
}

/** The head of a page the gateway writes itself: HTML or JSON, with its length and caching. */
export function documentHead(status: number, body: string, json: boolean, cacheControl: string): ResponseHead {
  return {
    status,
    headers: {
      'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': cacheControl,
    },
  };
}
