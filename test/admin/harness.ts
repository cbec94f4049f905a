// The admin tests' stack: the admin fixture config on memory or on Redis (a prefix of its own), the
// API app on a real listener, and the log lines (the audit trail) kept for assertions.
import { resolve } from 'node:path';
import { createApiApp } from '../../src/api/app.js';
import { listen, close } from '../../src/api/server.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { createRuntime, type Runtime } from '../../src/ops/runtime.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { testKeyPair, type TestKeyPair } from '../support/keys.js';

export const ADMIN_CONFIG = resolve('test/fixtures/admin/plangate.yaml');
export const ADMIN_KEY = 'sk_admin_billing_key';
export const PLAIN_SECRET_KEY = 'sk_plain_app_key';
export const PUBLISHABLE_KEY = 'pk_public_page_key';

export interface AdminStack {
  runtime: Runtime;
  url: string;
  lines: Record<string, unknown>[];
  keys: TestKeyPair;
  env: Record<string, string | undefined>;
  /** A JSON request to the API with a key. */
  call(method: string, path: string, key: string | undefined, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export type StoreKind = 'memory' | 'redis';

export function storeEnv(kind: StoreKind, scope: string): Record<string, string> {
  return kind === 'redis' ? { REDIS_URL: testRedisUrl(), PLANGATE_REDIS_PREFIX: testKeyPrefix(scope) } : { REDIS_URL: '' };
}

export async function adminStack(kind: StoreKind, scope: string, extraEnv: Record<string, string> = {}, keys?: TestKeyPair): Promise<AdminStack> {
  const pair = keys ?? (await testKeyPair());
  const env = { ...process.env, PLANGATE_TEST_JWT_PUBLIC_KEY: pair.publicKeyFile, ...storeEnv(kind, scope), ...extraEnv };
  const model = await loadConfig(ADMIN_CONFIG, { env });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const runtime = await createRuntime(model, { logger });
  const app = createApiApp({ engine: () => runtime.engine, events: runtime.events });
  const { server, url } = await listen(app, '127.0.0.1', 0);
  return {
    runtime,
    url,
    lines,
    keys: pair,
    env,
    async call(method, path, key, body, headers = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (an export): the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await close(server);
      await runtime.close();
    },
  };
}

export function auditLines(lines: Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter((line) => line.code === 'admin-action');
}
