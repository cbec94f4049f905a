// A local JWK Set HTTP server for JWT tests: serves whatever set the test publishes at /jwks.json,
// records every request path, and can refuse connections (listener closed) or hang (never answer).
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { JSONWebKeySet } from 'jose';

export interface JwksServer {
  /** The set's URL (`/jwks.json` on this server). */
  url: string;
  /** Base URL, for pointing other paths (e.g. a token's `jku`) at this server. */
  origin: string;
  /** Paths requested so far, in order. */
  requests: string[];
  publish(set: JSONWebKeySet): void;
  /** Close the listener: connections are refused until `resume()`. */
  refuse(): Promise<void>;
  /** Accept connections and never answer until `resume()`. */
  hang(): void;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startJwksServer(initial: JSONWebKeySet = { keys: [] }): Promise<JwksServer> {
  let body = JSON.stringify(initial);
  let hanging = false;
  const requests: string[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (hanging) return;
    if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  const port = await listen(0);
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/jwks.json`,
    origin,
    requests,
    publish(set) {
      body = JSON.stringify(set);
    },
    refuse: stop,
    hang() {
      hanging = true;
    },
    async resume() {
      hanging = false;
      if (!server.listening) await listen(port);
    },
    close: stop,
  };
}
