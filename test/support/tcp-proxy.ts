// A TCP proxy the test controls, to put a real server into failure modes without touching it:
//   pass    forward both ways
//   hang    accept connections but forward nothing either way (bytes wait, in order, like a stopped process)
//   delay   forward replies after N ms
//   refuse  close every connection and stop listening (connection refused)
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = { kind: 'pass' } | { kind: 'hang' } | { kind: 'delay'; ms: number } | { kind: 'refuse' };

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Replies waiting to be written, oldest first, each with the time it is due. */
  queue: { chunk: Buffer; due: number }[];
  timer?: NodeJS.Timeout;
}

/** Writes due replies in order; a reply never overtakes an earlier one, even when the delay shrinks. */
function drain(pair: Pair): void {
  pair.timer = undefined;
  while (pair.queue.length > 0 && pair.queue[0].due <= Date.now()) {
    const { chunk } = pair.queue.shift()!;
    if (pair.client.writable) pair.client.write(chunk);
  }
  if (pair.queue.length > 0) pair.timer = setTimeout(() => drain(pair), pair.queue[0].due - Date.now());
}

export async function startTcpProxy(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
  let mode: ProxyMode = { kind: 'pass' };
  const pairs = new Set<Pair>();
  let server: Server | undefined;
  let boundPort = port;

  // Hung, nothing moves either way: what either side sends waits in the sockets' buffers, and is
  // gone if the proxy closes first (a cut link loses what was in flight, as a dead host does).
  const applyFlow = (pair: Pair) => {
    if (mode.kind === 'hang') {
      pair.client.pause();
      pair.upstream.pause();
    } else {
      pair.client.resume();
      pair.upstream.resume();
    }
  };

  const onConnection = (client: Socket) => {
    const upstream = createConnection(target);
    const pair: Pair = { client, upstream, queue: [] };
    pairs.add(pair);
    const end = () => {
      clearTimeout(pair.timer);
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      pair.queue.push({ chunk, due: Date.now() + (mode.kind === 'delay' ? mode.ms : 0) });
      if (pair.timer === undefined) drain(pair);
    });
    applyFlow(pair);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer(onConnection);
      srv.once('error', reject);
      srv.listen(boundPort, '127.0.0.1', () => {
        const addr = srv.address();
        if (typeof addr === 'object' && addr) boundPort = addr.port;
        server = srv;
        resolve();
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      if (!server) return resolve();
      const srv = server;
      server = undefined;
      srv.close(() => resolve());
    });

  await listen();
  return {
    get port() {
      return boundPort;
    },
    get url() {
      return `redis://127.0.0.1:${boundPort}`;
    },
    async setMode(next) {
      mode = next;
      if (next.kind === 'refuse') return stopListening();
      if (!server) await listen();
      for (const pair of pairs) applyFlow(pair);
    },
    close: stopListening,
  };
}
