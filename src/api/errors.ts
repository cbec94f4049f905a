// The one error shape of the decision API (docs/api.md "Errors"), and the mapping of every failure to
// it: `{ status: "error", statusCode, code, message }`. The MonetizationOS shape (status, statusCode,
// message) is kept; `code` is an extra key its clients ignore, stable, from src/errors.ts.
import type { ErrorRequestHandler, Response } from 'express';
import { EngineError } from '../engine/errors.js';
import { RETRY_AFTER_SECONDS } from '../engine/load.js';
import { statusOf, type ErrorCode } from '../errors.js';
import type { EventLogger } from '../events.js';

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusOf(code);
  }
}

export function sendError(res: Response, code: ErrorCode, message: string): void {
  const statusCode = statusOf(code);
  res.status(statusCode).json({ status: 'error', statusCode, code, message });
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** Last middleware: every error leaves as `{ status: "error", statusCode, code, message }`, never a stack trace. */
export function errorHandler(events: EventLogger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof ApiError) return sendError(res, err.code, err.message);
    if (err instanceof EngineError) {
      // Overloaded (load shed) or the store down for a counter update: worth retrying shortly.
      if (err.status === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
      return sendError(res, err.code, err.message);
    }
    const parserError = err as BodyParserError;
    if (parserError.type === 'entity.parse.failed') return sendError(res, 'invalid-json', 'the request body is not valid JSON');
    if (parserError.type === 'entity.too.large') return sendError(res, 'body-too-large', `the request body is larger than ${parserError.limit} bytes`);
    if (parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported')
      return sendError(res, 'unsupported-encoding', 'the request body must be UTF-8 JSON');
    if (parserError.type === 'request.aborted') return;
    events.event('error', 'api-internal-error', { error: err instanceof Error ? err.message : String(err) });
    sendError(res, 'internal-error', 'internal error');
  };
}
