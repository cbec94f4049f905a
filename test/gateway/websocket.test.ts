// Acceptance: websocket upgrades through the gateway's own `upgrade` handler, against a real `ws`
// echo upstream. Allowed paths echo; denied paths (also for a first visit with no anonymous cookie)
// never reach the upstream; spoofed prefix headers are stripped from the upgrade request.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/gateway/listener.js';
import type { RequestSummary } from '../../src/gateway/observer.js';
import { behaveConfig } from './behave-config.js';
import { closeServer, listen, rawExchange, startStack, type Stack } from './harness.js';

let stack: Stack;
let gateway: RunningGateway;
const summaries: RequestSummary[] = [];
/** Every upgrade request the upstream saw: path and headers. */
const upgrades: { url: string; headers: IncomingHttpHeaders }[] = [];
let closeUpstream: () => Promise<void>;
let upstreamUrl: string;

// What a broken or strict upstream answers to an upgrade it will not do: a normal response, chunked,
// publicly cacheable, written straight to the socket.
const REFUSAL =
  'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nCache-Control: public, max-age=600\r\nSurrogate-Control: max-age=600\r\n' +
  'Set-Cookie: site=1; Path=/\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnope!\r\n0\r\n\r\n';

beforeAll(async () => {
  stack = await startStack(behaveConfig('', '', 5_000), 'gw-ws');
  // An echo upstream of its own (plain requests get 'plain'); a second gateway on the stack's engine points at it.
  const server = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    if (req.url === '/refuse') {
      socket.end(REFUSAL);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  });
  const url = await listen(server);
  upstreamUrl = url;
  closeUpstream = async () => {
    wss.close();
    await closeServer(server);
  };
  gateway = await startGateway({
    model: stack.runtime.model,
    engine: stack.runtime.engine,
    logger: stack.logger,
    observer: { requestDone: (s) => summaries.push(s) },
    listen: { host: '127.0.0.1', port: 0 },
    upstream: url,
  });
});
afterAll(async () => {
  await gateway?.close();
  await closeUpstream?.();
  await stack?.close();
});

const wsUrl = (path: string) => gateway.url.replace('http://', 'ws://') + path;

/** Opens a websocket; resolves with the socket once open, or with the HTTP status the gateway refused it with. */
function openSocket(path: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number; setCookie?: string[]; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(path), { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, setCookie: res.headers['set-cookie'], body }));
    });
    ws.once('error', reject);
  });
}

describe('websocket upgrades', () => {
  it('echo works on an allowed path, with the anonymous cookie on the 101 and the id sent upstream', async () => {
    let cookie: string[] | undefined;
    const ws = new WebSocket(wsUrl('/chat/room?x=1'));
    ws.once('upgrade', (res) => (cookie = res.headers['set-cookie']));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('hello through the gateway');
    expect(await echoed).toBe('hello through the gateway');
    ws.close();
    const seen = upgrades.find((u) => u.url === '/chat/room?x=1')!;
    expect(seen.headers['x-plangate-auth-type']).toBe('anonymous');
    expect(cookie?.some((c) => c.startsWith('plangate_anon='))).toBe(true);
    expect(cookie?.some((c) => c.includes(`=${seen.headers['x-plangate-id']}`))).toBe(true);
    const summary = summaries.find((s) => s.requestId === seen.headers['x-plangate-request-id']);
    expect(summary).toMatchObject({ websocket: true, status: 101, outcome: 'forwarded', route: '/**', identityType: 'anonymous', completed: true });
  });

  it('a denied path answers on the socket and the upstream never sees the upgrade, even on a first visit without cookies', async () => {
    const before = upgrades.length;
    const denied = await openSocket('/members/chat');
    expect(denied.status).toBe(302); // the route's redirect denial, written as an HTTP response
    expect(denied.body).toBe('302 denied\n');
    expect(denied.setCookie?.some((c) => c.startsWith('plangate_anon='))).toBe(true); // a first visit: the id was minted
    // A canonicalisation variant of the same protected path: also decided, also refused.
    const variant = await openSocket('/x/../MEMBERS//chat');
    expect(variant.status).toBe(302);
    const rejected = await openSocket('/members/%2fchat');
    expect(rejected.status).toBe(400);
    expect(upgrades.length).toBe(before);
    expect(summaries.filter((s) => s.websocket && s.outcome === 'denied').length).toBeGreaterThanOrEqual(2);
  });

  it("spoofed prefix headers on an upgrade are stripped, and the injected ones are the gateway's", async () => {
    const { ws } = await openSocket('/chat/spoof', {
      'X-Plangate-Plans': 'premium',
      x_plangate_id: 'someone-else',
      'x-plangate-extra': '1',
      Connection: 'Upgrade, x-plangate-degraded',
    });
    ws?.close();
    const seen = upgrades.find((u) => u.url === '/chat/spoof')!;
    expect(seen.headers['x-plangate-plans']).toBe('anyone');
    expect(seen.headers['x-plangate-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['x-plangate-extra']).toBeUndefined();
    expect(seen.headers['x-plangate-degraded']).toBe('false');
    expect(Object.keys(seen.headers).some((name) => name.includes('_'))).toBe(false);
  });

  it('a non-websocket upgrade is refused with 400, and the gateway keeps serving', async () => {
    const { hostname, port } = new URL(gateway.url);
    const res = await new Promise<number>((resolve, reject) =>
      request({ host: hostname, port, path: '/chat', headers: { connection: 'Upgrade', upgrade: 'h2c' } })
        .on('response', (r) => resolve(r.statusCode ?? 0))
        .on('error', reject)
        .end(),
    );
    expect(res).toBe(400);
    const plain = await fetch(`${gateway.url}/fine`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe('plain');
  });
});

/** The raw bytes of a websocket handshake for `path` on a gateway, answered until the gateway closes. */
function handshake(baseUrl: string, path: string): Promise<string> {
  const { host } = new URL(baseUrl);
  return rawExchange(
    baseUrl,
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
}

describe('an upstream that refuses a decided upgrade', () => {
  it('has its answer shaped like any decided response: private, the anonymous cookie, honest framing', async () => {
    const text = await handshake(gateway.url, '/refuse');
    const split = text.indexOf('\r\n\r\n');
    const head = text.slice(0, split).toLowerCase();
    expect(head.split('\r\n')[0]).toBe('http/1.1 403 forbidden');
    expect(head).toContain('\r\ncache-control: private, max-age=600');
    expect(head).toContain('\r\nsurrogate-control: no-store');
    expect(head).toContain('\r\nset-cookie: site=1; path=/');
    expect(head).toMatch(/\r\nset-cookie: plangate_anon=[0-9a-f-]{36}/);
    expect(head).toContain('\r\nconnection: close');
    expect(head).not.toContain('transfer-encoding');
    expect(text.slice(split + 4)).toBe('nope!'); // de-chunked, ended by the close
    expect(upgrades.some((u) => u.url === '/refuse')).toBe(true);
  });
});

describe('limits on open websockets', () => {
  let limited: RunningGateway;
  // The burst gets its own gateway whose idle timeout cannot free a place while 400 handshakes are
  // still arriving (on a busy machine the burst itself can take longer than a short timeout).
  let burstGateway: RunningGateway;
  const limitedSummaries: RequestSummary[] = [];
  const startLimited = (idleTimeoutMs: number) => {
    const model = stack.runtime.model;
    return startGateway({
      model: { ...model, gateway: { ...model.gateway!, websockets: { maxPerClient: 3, idleTimeoutMs } } },
      engine: stack.runtime.engine,
      logger: stack.logger,
      observer: { requestDone: (s) => limitedSummaries.push(s) },
      listen: { host: '127.0.0.1', port: 0 },
      upstream: upstreamUrl,
    });
  };
  beforeAll(async () => {
    limited = await startLimited(1_000);
    burstGateway = await startLimited(120_000);
  });
  afterAll(async () => {
    await limited?.close();
    await burstGateway?.close();
  });

  const open = (path: string, gateway: RunningGateway = limited) =>
    new Promise<{ ws?: WebSocket; status?: number }>((resolve, reject) => {
      const ws = new WebSocket(gateway.url.replace('http://', 'ws://') + path);
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve({ status: res.statusCode });
      });
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket) => new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve())));

  it('a burst of 400 handshakes from one client opens exactly maxPerClient; the rest get 429 and never reach the upstream', async () => {
    const before = upgrades.length;
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => open(`/burst/${i}`, burstGateway)));
    const opened = results.filter((r) => r.ws !== undefined);
    expect(opened).toHaveLength(3);
    expect(results.filter((r) => r.status === 429)).toHaveLength(397);
    expect(upgrades.length - before).toBe(3);
    expect(limitedSummaries.filter((s) => s.status === 429 && s.outcome === 'rejected')).toHaveLength(397);
    // A closed one frees its place.
    opened[0].ws!.close();
    await closed(opened[0].ws!);
    const next = await open('/burst/after-close', burstGateway);
    expect(next.ws).toBeDefined();
    for (const r of [...opened.slice(1), next]) r.ws!.close();
    await Promise.all([...opened.slice(1), next].map((r) => closed(r.ws!)));
  });

  it('an idle websocket is closed after idleTimeoutMs; one that talks stays open', async () => {
    const idle = (await open('/idle')).ws!;
    const talking = (await open('/talking')).ws!;
    const started = Date.now();
    const ticker = setInterval(() => talking.send('ping'), 250);
    await closed(idle);
    const idleFor = Date.now() - started;
    expect(idleFor).toBeGreaterThanOrEqual(900);
    expect(idleFor).toBeLessThan(5_000);
    await new Promise((r) => setTimeout(r, 600));
    expect(talking.readyState).toBe(WebSocket.OPEN);
    clearInterval(ticker);
    talking.close();
    await closed(talking);
  });

  it('refused handshakes whose clients never close their side hold their places only until idleTimeoutMs', async () => {
    const { hostname, port } = new URL(limited.url);
    // allowHalfOpen: the client keeps its side open after the gateway's answer and end.
    const refused = () =>
      new Promise<{ answer: string; socket: Socket }>((resolve, reject) => {
        const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
        let text = '';
        socket.on('data', (c) => (text += c.toString('latin1')));
        socket.on('end', () => resolve({ answer: text, socket }));
        socket.on('error', reject);
        socket.write(
          `GET /members/chat HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    const held = await Promise.all([refused(), refused(), refused()]);
    expect(held.map((h) => h.answer.slice(0, 12))).toEqual(['HTTP/1.1 302', 'HTTP/1.1 302', 'HTTP/1.1 302']);
    expect((await open('/while-held')).status).toBe(429);
    await new Promise((r) => setTimeout(r, 1_600));
    const after = await open('/after-idle');
    expect(after.ws).toBeDefined();
    after.ws!.close();
    await closed(after.ws!);
    for (const h of held) h.socket.destroy();
  });

  it('the config refuses limits out of range, with their key paths', async () => {
    const file = behaveConfig('  websockets: { maxPerClient: 0, idleTimeoutMs: 10 }\n');
    const error = await loadConfig(file, {
      env: { ...process.env, PLANGATE_UPSTREAM: 'http://127.0.0.1:9', PLANGATE_TEST_JWT_PUBLIC_KEY: stack.keys.publicKeyFile, REDIS_URL: '' },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['gateway.websockets.maxPerClient', 'gateway.websockets.idleTimeoutMs']));
  });
});
