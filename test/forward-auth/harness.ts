// Real parts for forward-auth tests: the real loader, engine and Redis store, the decision listener on
// a free port, a real upstream (the site the proxy forwards to) and a key pair the test generates.
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startForwardAuth, type RunningForwardAuth } from '../../src/forward-auth/listener.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { loadTestRuntime, recordingLogger, startUpstream, testKeys, type Keys, type RecordingLogger, type Upstream } from '../gateway/harness.js';

export const FORWARD_AUTH_CONFIG = fileURLToPath(new URL('./fixtures/forward-auth.yaml', import.meta.url));
export const SIGNING_KEY = { id: 'test-1', secret: 'forward-auth-test-signing-secret-of-more-than-32-bytes' };

export interface AuthStack {
  auth: RunningForwardAuth;
  upstream: Upstream;
  runtime: Runtime;
  keys: Keys;
  logger: RecordingLogger;
  close(): Promise<void>;
}

export async function startAuthStack(scope: string, env: Record<string, string> = {}): Promise<AuthStack> {
  const upstream = await startUpstream();
  const keys = await testKeys();
  const runtime = await loadTestRuntime(FORWARD_AUTH_CONFIG, scope, { PLANGATE_UPSTREAM: upstream.url, PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile, ...env });
  const logger = recordingLogger();
  const auth = await startForwardAuth({ model: runtime.model, engine: runtime.engine, logger, listen: { host: '127.0.0.1', port: 0 } });
  return {
    auth,
    upstream,
    runtime,
    keys,
    logger,
    async close() {
      await auth.close();
      await upstream.close();
      await runtime.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (Host included), as a proxy would send it. */
export function call(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The `name=value` part of the first Set-Cookie for `name`. */
export function cookiePair(reply: Reply, name: string): string | undefined {
  return (reply.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).find((pair) => pair.startsWith(`${name}=`));
}

/** The headers of an allowed answer the proxy copies upstream: every `x-plangate-*` one. */
export function injected(reply: Reply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.headers)) if (name.startsWith('x-plangate-') && typeof value === 'string') out[name] = value;
  return out;
}
