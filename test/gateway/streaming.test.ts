// Acceptance: bodies stream both ways. A 200 MB upload passes through a gateway running in its own
// process while its resident memory grows by far less than the body (the growth is the garbage
// collector's headroom, 20-55 MB here whether the body is 100 or 300 MB; buffering would need the
// whole body); an SSE stream with a gap longer
// than the header timeout arrives event by event; a stream idle past idleTimeoutMs is cut; a gzip
// response passes byte for byte with its Content-Encoding.
import { fork, type ChildProcess } from 'node:child_process';
import { request, type IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaveConfig } from './behave-config.js';
import { startStack, startUpstream, upstreamFromEnvConfig, writeConfig, type Stack, type Upstream } from './harness.js';

const MB = 1024 * 1024;

describe('a 200 MB upload through a gateway in its own process', () => {
  let upstream: Upstream;
  let child: ChildProcess;
  let url: string;
  const replies = new Map<string, (value: unknown) => void>();

  beforeAll(async () => {
    upstream = await startUpstream();
    const config = writeConfig(upstreamFromEnvConfig({ headerTimeoutMs: 60000, route: 'surface: site' }));
    child = fork(resolve('test/gateway/fixtures/gateway-process.ts'), [config], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PLANGATE_UPSTREAM: upstream.url },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (message: { url?: string; rss?: number }) => {
      const key = message.url !== undefined ? 'url' : 'rss';
      replies.get(key)?.(message[key as keyof typeof message]);
      replies.delete(key);
    });
    url = (await ask('url')) as string;
  }, 20_000);
  afterAll(async () => {
    child?.send('stop');
    await new Promise((r) => (child?.exitCode === null ? child.once('exit', r) : r(undefined)));
    await upstream?.close();
  });

  function ask(key: 'url' | 'rss'): Promise<unknown> {
    return new Promise((resolve) => {
      replies.set(key, resolve);
      if (key === 'rss') child.send('rss');
    });
  }

  /** PUTs `total` bytes generated on the fly (one reused chunk, so the test process holds no body either). */
  function upload(total: number, onProgress: (sent: number) => void): Promise<{ status: number; body: string }> {
    const chunk = Buffer.alloc(MB, 120);
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= total) return void this.push(null);
        sent += chunk.length;
        onProgress(sent);
        this.push(chunk);
      },
    });
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const req = request(
        { host: hostname, port, path: '/upload', method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      body.pipe(req);
    });
  }

  it('reaches the upstream whole, streamed, with the gateway RSS growing < 64 MB (under a third of the body)', async () => {
    let sentWhenFirstByteArrived: number | undefined;
    let sentSoFar = 0;
    upstream.handlers.set('/upload', (req, res) => {
      let received = 0;
      req.on('data', (data: Buffer) => {
        sentWhenFirstByteArrived ??= sentSoFar;
        received += data.length; // counted and discarded
      });
      req.on('end', () => res.end(String(received)));
      return true;
    });
    // Warm up (JIT, buffers, agent sockets) so the baseline is the steady state.
    expect(await upload(8 * MB, () => {})).toEqual({ status: 200, body: String(8 * MB) });
    const baseline = (await ask('rss')) as number;
    let peak = baseline;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await ask('rss')) as number);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    sentWhenFirstByteArrived = undefined;
    const result = await upload(200 * MB, (sent) => (sentSoFar = sent));
    sampling = false;
    await sampler;
    expect(result).toEqual({ status: 200, body: String(200 * MB) });
    // The upstream had bytes while most of the body was still to be sent: the request body is not buffered.
    expect(sentWhenFirstByteArrived).toBeLessThan(50 * MB);
    const growth = peak - baseline;
    console.info(
      `200 MB upload: gateway RSS baseline ${(baseline / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(1)} MB`,
    );
    expect(growth).toBeLessThan(64 * MB);
  }, 60_000);
});

describe('streamed responses', () => {
  // headerTimeoutMs is 100 in the behave config; idleTimeoutMs 1000 here. Liveness bounds are 20x.
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(behaveConfig('  idleTimeoutMs: 1000\n'), 'gw-streaming');
  });
  afterAll(() => stack?.close());

  function open(path: string): Promise<IncomingMessage> {
    const { hostname, port } = new URL(stack.gateway.url);
    return new Promise((resolve, reject) =>
      request({ host: hostname, port, path, headers: { accept: 'text/event-stream' } }, resolve)
        .on('error', reject)
        .end(),
    );
  }

  it('an SSE stream with a gap longer than the header timeout arrives event by event', async () => {
    let clientSawFirst!: () => void;
    const firstSeen = new Promise<void>((r) => (clientSawFirst = r));
    let secondSent = false;
    stack.upstream.handlers.set('/sse-gap', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      // 4x the header timeout between events, well inside the idle timeout.
      void firstSeen.then(() =>
        setTimeout(() => {
          secondSent = true;
          res.end('data: two\n\n');
        }, 400),
      );
      return true;
    });
    const res = await open('/sse-gap');
    expect(res.statusCode).toBe(200);
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        events.push(chunk);
        if (events.length === 1) {
          expect(secondSent).toBe(false);
          clientSawFirst();
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    expect(events).toEqual(['data: one\n\n', 'data: two\n\n']);
  });

  it('a stream idle longer than idleTimeoutMs is cut, and logged', async () => {
    stack.upstream.handlers.set('/sse-stalled', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: only\n\n');
      return true; // and then nothing, ever
    });
    const res = await open('/sse-stalled');
    const received: string[] = [];
    const cut = await Promise.race([
      new Promise<string>((resolve) => {
        res.setEncoding('utf8').on('data', (c: string) => received.push(c));
        res.on('close', () => resolve(res.complete ? 'ended' : 'cut'));
      }),
      new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 20_000)),
    ]);
    expect(cut).toBe('cut');
    expect(received).toEqual(['data: only\n\n']);
    expect(stack.logger.events.some((e) => e.code === 'upstream-idle-timeout' && e.fields?.idleTimeoutMs === 1000)).toBe(true);
  }, 30_000);

  it('a gzip response passes through untouched: same bytes, Content-Encoding kept', async () => {
    const compressed = gzipSync(Buffer.from('<p>compressed article</p>'.repeat(500)));
    stack.upstream.handlers.set('/gzipped', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': String(compressed.length), vary: 'Accept-Encoding' });
      res.end(compressed);
      return true;
    });
    const { hostname, port } = new URL(stack.gateway.url);
    const { headers, body } = await new Promise<{ headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) =>
      request({ host: hostname, port, path: '/gzipped', headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end(),
    );
    expect(headers['content-encoding']).toBe('gzip');
    expect(headers['content-length']).toBe(String(compressed.length));
    expect(body.equals(compressed)).toBe(true);
    expect(stack.upstream.seen.findLast((s) => s.target === '/gzipped')!.headers['accept-encoding']).toBe('gzip');
  });
});
