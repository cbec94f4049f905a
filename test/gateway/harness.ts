// Real parts for gateway tests: a test upstream that behaves like a real site and a key pair the test
// generates (both from test/support/), the real config loader, engine, store and listener.
import type { EventLogger } from '../../src/events.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Model } from '../../src/engine/model.js';
import { startGateway, type RunningGateway } from '../../src/gateway/listener.js';
import { createLogger } from '../../src/ops/logger.js';
import { createRuntime, type Runtime } from '../../src/ops/runtime.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { testKeyPair } from '../support/keys.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

export { closeServer, listen, startUpstream, UPSTREAM_COOKIE, type SeenRequest, type Upstream, type UpstreamHandler } from '../support/upstream.js';

export interface Keys {
  publicKeyFile: string;
  sign(claims: Record<string, unknown>): Promise<string>;
}

export async function testKeys(): Promise<Keys> {
  const { publicKeyFile, sign } = await testKeyPair();
  return { publicKeyFile, sign: (claims) => sign(claims) };
}

export interface RecordingLogger extends EventLogger {
  events: { level: string; code: string; fields?: Record<string, unknown> }[];
}

export function recordingLogger(): RecordingLogger {
  const events: RecordingLogger['events'] = [];
  return { events, event: (level, code, fields) => events.push({ level, code, fields }) };
}

export interface Stack {
  gateway: RunningGateway;
  upstream: Upstream;
  runtime: Runtime;
  keys: Keys;
  logger: RecordingLogger;
  close(): Promise<void>;
}

/** Loads `configFile` with the upstream and keys wired in and meters in Redis under a per-run prefix. */
export async function startStack(configFile: string, scope: string, env: Record<string, string> = {}): Promise<Stack> {
  const upstream = await startUpstream();
  const keys = await testKeys();
  const runtime = await loadTestRuntime(configFile, scope, { PLANGATE_UPSTREAM: upstream.url, PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile, ...env });
  const logger = recordingLogger();
  const gateway = await startGateway({ model: runtime.model, engine: runtime.engine, logger, listen: { host: '127.0.0.1', port: 0 } });
  return {
    gateway,
    upstream,
    runtime,
    keys,
    logger,
    async close() {
      await gateway.close();
      await upstream.close();
      await runtime.close();
    },
  };
}

/** The real loader and runtime for `configFile`, meters in Redis under a per-run prefix (also for reload tests). */
export async function loadTestRuntime(configFile: string, scope: string, env: Record<string, string>): Promise<Runtime> {
  const loaded = await loadConfig(configFile, { env: { ...process.env, REDIS_URL: testRedisUrl(), ...env }, devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY });
  // The default command timeout: it judges Redis's progress, so busy cores do not make it fail open.
  const model: Model = { ...loaded, store: { ...loaded.store, redis: loaded.store.redis && { ...loaded.store.redis, keyPrefix: testKeyPrefix(scope) } } };
  return createRuntime(model, { logger: createLogger({ level: 'silent' }) });
}

/** The `version` and `jwt` lines of a test config whose tokens are signed by `Stack.keys` (the claim key is `email`). */
export const TEST_JWT_YAML = `version: 1
jwt:
  integrations:
    - name: Test
      algorithms: [RS256]
      publicKeyFile: \${PLANGATE_TEST_JWT_PUBLIC_KEY}
      claimKey: email
`;

/** A config file in a fresh temp dir, with extra files (workflows) beside it. */
/**
 * A minimal config whose upstream is read from PLANGATE_UPSTREAM, for gateways started apart from the
 * stack (their own process, or an upstream made by the test): one `/**` route with `route` as its rule.
 */
export function upstreamFromEnvConfig(options: { headerTimeoutMs: number; route: 'surface: site' | 'bypass: true' }): string {
  return `version: 1
features:
  news: {}
plans:
  anyone: { assign: anonymous, features: { news: { enabled: on } } }
surfaces:
  site: {}
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  headerTimeoutMs: ${options.headerTimeoutMs}
  routes:
    - path: /**
      ${options.route}
`;
}

export function writeConfig(yaml: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'plangate-gw-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, 'plangate.yaml');
  writeFileSync(file, yaml);
  return file;
}

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** One request over a raw socket: the request target is sent exactly as given (HTTP clients normalise paths). */
export async function rawRequest(baseUrl: string, target: string, headerLines: string[] = [], method = 'GET'): Promise<RawResponse> {
  const { hostname } = new URL(baseUrl);
  const text = await rawExchange(
    baseUrl,
    `${method} ${target} HTTP/1.1\r\nHost: ${hostname}\r\n${headerLines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`,
  );
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split === -1 ? '' : text.slice(split + 4) };
}

/** Writes `bytes` (latin1) on one connection and resolves with everything received until the gateway closes it. */
export function rawExchange(baseUrl: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(Buffer.from(bytes, 'latin1'));
  });
}

/** The `name=value` of a Set-Cookie list, by name. */
export function cookieFrom(setCookie: string[] | string | null | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return list.map((c) => c.split(';')[0]).find((pair) => pair.startsWith(`${name}=`));
}
