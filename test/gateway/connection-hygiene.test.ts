// Acceptance: what the gateway does with a connection once a request on it went wrong. A malformed
// request pipelined behind a pending one gets its 400 after that response, never ahead of it; an
// upload the gateway answered without reading (a paywall) is read at most UNREAD_BODY_LIMIT_BYTES
// further, then the connection closes, instead of being drained to the end.
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNREAD_BODY_LIMIT_BYTES } from '../../src/gateway/listener.js';
import { rawExchange, startStack, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(resolve('config/plangate.yaml'), 'gw-connections');
  stack.upstream.handlers.set('/slow', (_req, res) => {
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '9' }).end('slow body'), 300);
    return true;
  });
});
afterAll(() => stack?.close());

describe('a malformed request pipelined behind a pending one', () => {
  it.each([
    ['a header line without a colon', 'GET /x HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n', '400 Bad Request'],
    ['a bad request line', 'NOT HTTP AT ALL\r\n\r\n', '400 Bad Request'],
    ['headers over the limit', `GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, '431 Request Header Fields Too Large'],
  ])('%s: its error follows the pending response, then the connection closes', async (_name, malformed, status) => {
    const { host } = new URL(stack.gateway.url);
    const text = await rawExchange(stack.gateway.url, `GET /slow HTTP/1.1\r\nHost: ${host}\r\n\r\n${malformed}`);
    const responses = text.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nslow body$/);
    expect(responses[1]).toMatch(new RegExp(`^HTTP/1\\.1 ${status}\\r\\nConnection: close\\r\\n`));
  });

  it('alone, it is answered at once', async () => {
    expect(await rawExchange(stack.gateway.url, 'GET /x HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});

describe('an upload the gateway answered without reading', () => {
  /** Sends headers announcing `declared` bytes, then keeps writing until the gateway closes; resolves with what it got. */
  function upload(path: string, declared: number): Promise<{ written: number; response: string }> {
    const { hostname, port } = new URL(stack.gateway.url);
    return new Promise((resolve) => {
      const socket = connect(Number(port), hostname);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let written = 0;
      let response = '';
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        socket.destroy();
        resolve({ written, response });
      };
      socket.on('data', (c) => (response += c.toString('latin1')));
      socket.on('error', finish);
      socket.on('close', finish);
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`);
      const pump = () => {
        // Far past the bound with the kernel's buffers on both sides counted: the gateway kept reading.
        while (!finished && written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        if (!finished) finish();
      };
      pump();
    });
  }

  it('a 1 GiB upload after a 402 is cut short: the client gets the paywall and the connection closes', async () => {
    const before = stack.upstream.seen.length;
    const { written, response } = await upload('/premium/upload', 1024 ** 3);
    expect(response).toMatch(/^HTTP\/1\.1 402 /);
    // What the sockets' buffers hold aside, the gateway read UNREAD_BODY_LIMIT_BYTES past the answer and stopped.
    expect(written).toBeLessThan(64 * 1024 * 1024);
    expect(stack.upstream.seen.length).toBe(before);
  });

  it('a small body after a 402 is read to its end and the connection kept', async () => {
    const { host } = new URL(stack.gateway.url);
    const body = 'x'.repeat(UNREAD_BODY_LIMIT_BYTES / 2);
    const text = await rawExchange(
      stack.gateway.url,
      `POST /premium/small HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\nAccept: application/json\r\n\r\n${body}` +
        `GET /after HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    const responses = text.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(responses.map((r) => r.slice(0, 12))).toEqual(['HTTP/1.1 402', 'HTTP/1.1 200']);
  });
});
