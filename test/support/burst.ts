// Bursts of concurrent requests through real listeners: the connections are opened first, then every
// request is written in one go, so the server sees them all at once (wrk keeps only its connection
// count in flight). Used by the burst acceptance tests and by `npm run bench -- --burst`.
import http from 'node:http';
import { connect, type Socket } from 'node:net';

export interface BurstRequest {
  /** Absolute URL. */
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface BurstReply {
  /** 0 when the connection failed before an answer (the error message is then the body). */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface BurstResult {
  replies: BurstReply[];
  /** From the first request written to the last answer read. */
  elapsedMs: number;
}

/**
 * Connections are opened in steps of this many, with a pause between steps for the server to accept
 * them: thousands at once overflow its listen backlog (Node's default is 511). A dropped SYN is
 * retried only a second later, and a connection whose last handshake packet was dropped looks open
 * to the client until the server gives up on it (a "socket hang up" at the first request).
 */
const OPEN_STEP = 250;
const OPEN_PAUSE_MS = 20;

/** Connections opened ahead of a burst, one request each. */
export class BurstClient {
  private readonly idle = new Map<string, Socket[]>();

  /** Opens `perOrigin` connections to each origin. */
  async open(origins: readonly string[], perOrigin: number): Promise<void> {
    for (const origin of origins) {
      const { hostname, port } = new URL(origin);
      const pool = this.idle.get(origin) ?? [];
      this.idle.set(origin, pool);
      for (let opened = 0; opened < perOrigin; opened += OPEN_STEP) {
        const step = Math.min(OPEN_STEP, perOrigin - opened);
        pool.push(
          ...(await Promise.all(
            Array.from(
              { length: step },
              () =>
                new Promise<Socket>((resolve, reject) => {
                  const socket = connect(Number(port), hostname, () => resolve(socket));
                  socket.once('error', reject);
                }),
            ),
          )),
        );
        await new Promise((r) => setTimeout(r, OPEN_PAUSE_MS));
      }
    }
  }

  /** Sends every request at once, each on a connection of its own (opened before, else now), and waits for every answer. */
  async send(requests: readonly BurstRequest[]): Promise<BurstResult> {
    const started = performance.now();
    const replies = await Promise.all(requests.map((r) => this.one(r)));
    return { replies, elapsedMs: performance.now() - started };
  }

  /** Closes connections that were not used. */
  close(): void {
    for (const pool of this.idle.values()) for (const socket of pool) socket.destroy();
    this.idle.clear();
  }

  private one(request: BurstRequest): Promise<BurstReply> {
    const url = new URL(request.url);
    const socket = this.idle.get(url.origin)?.pop();
    return new Promise((resolve) => {
      const failed = (error: Error) => resolve({ status: 0, headers: {}, body: error.message });
      const req = http.request(
        url,
        {
          method: request.method ?? 'GET',
          // keep-alive: the server need not close the connection after the answer (we do).
          headers: { connection: 'keep-alive', ...request.headers },
          agent: false,
          ...(socket === undefined ? {} : { createConnection: () => socket }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
            req.destroy();
          });
          res.on('error', failed);
        },
      );
      req.on('error', failed);
      req.end(request.body);
    });
  }
}

/** One burst on fresh connections (one per request, opened first), closed afterwards. */
export async function sendBurst(requests: readonly BurstRequest[]): Promise<BurstResult> {
  const client = new BurstClient();
  const perOrigin = new Map<string, number>();
  for (const r of requests) {
    const origin = new URL(r.url).origin;
    perOrigin.set(origin, (perOrigin.get(origin) ?? 0) + 1);
  }
  try {
    for (const [origin, count] of perOrigin) await client.open([origin], count);
    return await client.send(requests);
  } finally {
    client.close();
  }
}

/**
 * Many requests over a few keep-alive connections (`connections` in flight at a time, in order):
 * for floods, where opening a connection per request would cost more than the requests.
 */
export async function sendOver(requests: readonly BurstRequest[], connections: number): Promise<BurstResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const started = performance.now();
  try {
    const replies = await Promise.all(
      requests.map(
        (request) =>
          new Promise<BurstReply>((resolve) => {
            const req = http.request(request.url, { method: request.method ?? 'GET', headers: request.headers, agent }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
              res.on('error', (error) => resolve({ status: 0, headers: {}, body: error.message }));
            });
            req.on('error', (error) => resolve({ status: 0, headers: {}, body: error.message }));
            req.end(request.body);
          }),
      ),
    );
    return { replies, elapsedMs: performance.now() - started };
  } finally {
    agent.destroy();
  }
}
