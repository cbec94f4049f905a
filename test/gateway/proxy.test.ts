// Acceptance: proxying through the real listener. Streaming (SSE event by event, large bodies not
// buffered), upstream failures (refused → 502, slow headers → 504) and client aborts.
import { request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/gateway/listener.js';
import { behaveConfig } from './behave-config.js';
import { recordingLogger, startStack, type Stack } from './harness.js';

// headerTimeoutMs is 100 in the test config: liveness bounds are 20x that, and never under 2 s.
const LIVENESS_MS = 2000;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(behaveConfig(), 'gw-proxy');
});
afterAll(() => stack?.close());

/** A promise plus its resolver: the upstream waits on it until the client has seen what came before. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

function open(path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  const { hostname, port } = new URL(stack.gateway.url);
  return new Promise((resolve, reject) => request({ host: hostname, port, path, headers }, resolve).on('error', reject).end());
}

function withinLiveness<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${LIVENESS_MS} ms`)), LIVENESS_MS)),
  ]);
}

describe('streaming', () => {
  it('an SSE response arrives event by event', async () => {
    const next = gate();
    let secondSent = false;
    stack.upstream.handlers.set('/events', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      void next.opened.then(() => {
        secondSent = true;
        res.end('data: two\n\n');
      });
      return true;
    });
    const res = await open('/events', { accept: 'text/event-stream' });
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['cache-control']).toBe('private, no-cache');
    const chunks: string[] = [];
    await new Promise<void>((resolve) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        chunks.push(chunk);
        if (chunks.join('') === 'data: one\n\n') {
          expect(secondSent).toBe(false); // the first event came through before the upstream sent the second
          next.open();
        }
      });
      res.on('end', resolve);
    });
    expect(chunks.join('')).toBe('data: one\n\ndata: two\n\n');
  });

  it('a large body is streamed, not buffered', async () => {
    const rest = gate();
    const megabyte = Buffer.alloc(1024 * 1024, 97);
    stack.upstream.handlers.set('/large', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(megabyte.length * 8) });
      res.write(megabyte);
      void rest.opened.then(() => {
        for (let i = 0; i < 7; i++) res.write(megabyte);
        res.end();
      });
      return true;
    });
    const res = await open('/large');
    let received = 0;
    await new Promise<void>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        if (received === 0) rest.open(); // bytes arrived while the upstream still holds back 7 MB
        received += chunk.length;
      });
      res.on('end', resolve);
    });
    expect(received).toBe(megabyte.length * 8);
  });

  it('a client abort aborts the upstream request', async () => {
    const upstreamClosed = gate();
    stack.upstream.handlers.set('/endless', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('start');
      req.socket.on('close', () => upstreamClosed.open());
      return true;
    });
    const res = await open('/endless');
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await withinLiveness(upstreamClosed.opened, 'upstream close');
  });
});

describe('request bodies', () => {
  /** Sends `chunks` as the request body (chunked when no length is given) and resolves with the status and answer. */
  function send(path: string, method: string, headers: Record<string, string>, chunks: string[]): Promise<{ status: number; body: string }> {
    const { hostname, port } = new URL(stack.gateway.url);
    return new Promise((resolve, reject) => {
      const req = request({ host: hostname, port, path, method, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const write = () => {
        for (const chunk of chunks) req.write(chunk);
        req.end();
      };
      if (headers.expect)
        req.once('continue', write); // the body only after the gateway's 100 Continue
      else write();
    });
  }

  const echo: Parameters<typeof stack.upstream.handlers.set>[1] = (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () =>
      res.end(
        JSON.stringify({
          body,
          length: req.headers['content-length'] ?? null,
          chunked: req.headers['transfer-encoding'] ?? null,
          expect: req.headers.expect ?? null,
        }),
      ),
    );
    return true;
  };

  it('a POST body with a length reaches the upstream whole', async () => {
    stack.upstream.handlers.set('/echo-length', echo);
    const reply = await send('/echo-length', 'POST', { 'content-type': 'text/plain', 'content-length': '11' }, ['hello', ' world']);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ body: 'hello world', length: '11', chunked: null, expect: null });
  });

  it('a chunked body reaches the upstream whole, framed once (chunked, or with its length when it was complete before forwarding)', async () => {
    stack.upstream.handlers.set('/echo-chunked', echo);
    const reply = await send('/echo-chunked', 'PUT', { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, ['one,', 'two,', 'three']);
    expect(reply.status).toBe(200);
    const got = JSON.parse(reply.body) as { body: string; length: string | null; chunked: string | null };
    expect(got.body).toBe('one,two,three');
    expect([got.length, got.chunked]).toContainEqual(got.length === null ? 'chunked' : '13');
    expect(got.length === null || got.chunked === null).toBe(true); // never both
  });

  it('Expect: 100-continue is answered by the gateway and the body forwarded without the Expect header', async () => {
    stack.upstream.handlers.set('/echo-expect', echo);
    const reply = await withinLiveness(
      send('/echo-expect', 'POST', { 'content-type': 'text/plain', 'content-length': '4', expect: '100-continue' }, ['ping']),
      '100-continue upload',
    );
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ body: 'ping', length: '4', chunked: null, expect: null });
  });
});

describe('upstream failures', () => {
  it('slow response headers → 504 within the liveness bound, and the gateway keeps serving', async () => {
    stack.upstream.handlers.set('/slow', () => true); // never answers
    const res = await withinLiveness(fetch(`${stack.gateway.url}/slow`, { headers: { accept: 'application/json' } }), '504');
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({
      status: 'error',
      statusCode: 504,
      code: 'upstream-timeout',
      message: 'The site behind this gateway did not answer in time.',
    });
    const html = await withinLiveness(fetch(`${stack.gateway.url}/slow`, { headers: { accept: 'text/html' } }), '504');
    const body = await html.text();
    expect(body).toContain('504 Gateway Timeout');
    expect(body).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    expect((await fetch(`${stack.gateway.url}/fine`)).status).toBe(200);
  });

  it('upstream down → 502, with a clear page, and the gateway keeps serving', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const logger = recordingLogger();
    const down = await startGateway({
      model: stack.runtime.model,
      engine: stack.runtime.engine,
      logger,
      listen: { host: '127.0.0.1', port: 0 },
      upstream: `http://127.0.0.1:${closedPort}`,
    });
    try {
      const res = await withinLiveness(fetch(`${down.url}/anything`, { headers: { accept: 'application/json' } }), '502');
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ statusCode: 502, code: 'upstream-unreachable' });
      expect(res.headers.getSetCookie()[0]).toMatch(/^plangate_anon=/); // the visitor keeps the id the decision used
      const html = await withinLiveness(fetch(`${down.url}/anything`, { headers: { accept: 'text/html' } }), '502');
      expect(html.status).toBe(502);
      expect(await html.text()).toContain('502 Bad Gateway');
      expect(logger.events.some((e) => e.code === 'upstream-unreachable' && e.fields?.cause === 'ECONNREFUSED')).toBe(true);
    } finally {
      await down.close();
    }
  });
});
