// The one error shape of the decision API (PRODUCT.md §4), and the mapping of every failure to it.
import type { ErrorRequestHandler, Response } from 'express';
import { EngineError } from '../engine/errors.js';
import { RETRY_AFTER_SECONDS } from '../engine/load.js';
import type { Logger } from '../ops/logger.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function sendError(res: Response, statusCode: number, message: string): void {
  res.status(statusCode).json({ status: 'error', statusCode, message });
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** Last middleware: every error leaves as `{ status: "error", statusCode, message }`, never a stack trace. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof ApiError) return sendError(res, err.statusCode, err.message);
    if (err instanceof EngineError) {
      // Overloaded (load shed) or the store down for a counter update: worth retrying shortly.
      if (err.status === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
      return sendError(res, err.status, err.message);
    }
    const parserError = err as BodyParserError;
    if (parserError.type === 'entity.parse.failed') return sendError(res, 400, 'the request body is not valid JSON');
    if (parserError.type === 'entity.too.large') return sendError(res, 413, `the request body is larger than ${parserError.limit} bytes`);
    if (parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported')
      return sendError(res, 415, 'the request body must be UTF-8 JSON');
    if (parserError.type === 'request.aborted') return;
    logger.error({ code: 'api-internal-error', error: err instanceof Error ? err.message : String(err) });
    sendError(res, 500, 'internal error');
  };
}
