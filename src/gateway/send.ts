// Writing a response head or a whole answer to the client, never throwing into the request handler.
import type { ServerResponse } from 'node:http';
import type { ResponseHead } from './response-merge.js';

/** Writes the head; false when it could not be sent (client gone, or a value Node refuses). */
export function writeHead(res: ServerResponse, head: ResponseHead): boolean {
  if (res.headersSent || res.destroyed) return false;
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
