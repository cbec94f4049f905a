// Writing a response head or a whole answer to the client, never throwing into the request handler.
import type { ServerResponse } from 'node:http';
import type { ResponseHead } from './response-merge.js';

/** The response header carrying the request id; the listener sets it on every response before any head is written. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Writes the head; false when it could not be sent (client gone, or a value Node refuses). The
 * request id the listener set wins over one in the head (an upstream minting its own).
 */
export function writeHead(res: ServerResponse, head: ResponseHead): boolean {
  if (res.headersSent || res.destroyed) return false;
  if (head.headers[REQUEST_ID_HEADER] !== undefined && res.hasHeader(REQUEST_ID_HEADER)) delete head.headers[REQUEST_ID_HEADER];
  try {
    if (head.statusText === undefined) res.writeHead(head.status, head.headers);
    else res.writeHead(head.status, head.statusText, head.headers);
    return true;
  } catch {
    return false;
  }
}

export function sendAnswer(res: ServerResponse, answer: { head: ResponseHead; body: string }): void {
  if (writeHead(res, answer.head)) res.end(answer.body);
  else if (!res.headersSent) res.destroy();
}
