// Plain node:http requests from the harness: readiness probes, the status check before measuring, and
// the counted requests of the Redis round-trip measurement. Not used for load (wrk does that).
import http from 'node:http';
import type { ChildHandle } from './processes.js';

export interface Target {
  url: string;
  headers: Record<string, string>;
  /** A plangate candidate's ops `/metrics` (its store counts its own round trips there). */
  metricsUrl?: string;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const REQUEST_TIMEOUT_MS = 5000;

export function get(target: Target): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(target.url, { headers: target.headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let bodyBytes = 0;
      res.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bodyBytes }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.url} within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

const OUTPUT_IN_REASON = 600;
const firstOutput = (child: ChildHandle | undefined) => (child?.output() || 'no output').slice(0, OUTPUT_IN_REASON);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls until the target answers 200, the child exits, or the time runs out. Returns null when ready,
 * else the reason (with the child's last output) so the caller can skip the candidate loudly.
 */
export async function waitUntilReady(target: Target, child: ChildHandle | undefined, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | undefined;
  void child?.exited.then((code) => (exitCode = code));
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) return `process exited (${exitCode}): ${firstOutput(child)}`;
    try {
      const reply = await get(target);
      if (reply.status === 200) return null;
      last = `answered ${reply.status} instead of 200`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  return `not ready after ${timeoutMs} ms (${last})${child ? `: ${firstOutput(child)}` : ''}`;
}

export function closeAgent(): void {
  agent.destroy();
}
