// Acceptance: websocket upgrades through the gateway's own `upgrade` handler, against a real `ws`
// echo upstream. Allowed paths echo; denied paths (also for a first visit with no anonymous cookie)
// never reach the upstream; spoofed prefix headers are stripped from the upgrade request.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startGateway, type RunningGateway } from '../../src/gateway/listener.js';
import type { RequestSummary } from '../../src/gateway/observer.js';
import { behaveConfig } from './behave-config.js';
import { closeServer, listen, startStack, type Stack } from './harness.js';

let stack: Stack;
let gateway: RunningGateway;
const summaries: RequestSummary[] = [];
/** Every upgrade request the upstream saw: path and headers. */
const upgrades: { url: string; headers: IncomingHttpHeaders }[] = [];
let closeUpstream: () => Promise<void>;

beforeAll(async () => {
  stack = await startStack(behaveConfig('', '', 5_000), 'gw-ws');
  // An echo upstream of its own (plain requests get 'plain'); a second gateway on the stack's engine points at it.
  const server = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  });
  const url = await listen(server);
  closeUpstream = async () => {
    wss.close();
    await closeServer(server);
  };
  gateway = await startGateway({ model: stack.runtime.model, engine: stack.runtime.engine, logger: stack.logger, observer: { requestDone: (s) => summaries.push(s) }, listen: { host: '127.0.0.1', port: 0 }, upstream: url });
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

  it('spoofed prefix headers on an upgrade are stripped, and the injected ones are the gateway\'s', async () => {
    const { ws } = await openSocket('/chat/spoof', { 'X-Plangate-Plans': 'premium', x_plangate_id: 'someone-else', 'x-plangate-extra': '1', Connection: 'Upgrade, x-plangate-degraded' });
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
