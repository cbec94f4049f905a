// Real parts for ops tests: a config in a temp dir (with a surface workflow file beside it), an
// upstream that echoes what plangate told it, meters in the test Redis under a per-run prefix, the
// whole `plangate gateway` stack (gateway, ops port, API) from runGateway, and the log captured as
// text from pino's destination stream.
import { request } from 'node:http';
import { afterEach } from 'vitest';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { runGateway, type RunningServers } from '../../src/cli/run-gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';
import { createLogger } from '../../src/ops/logger.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { testKeyPair } from '../support/keys.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';

export const SECRET_API_KEY = 'sk_opstest_0123456789abcdef';
export const HMAC_SECRET = 'hmac-secret-for-ops-tests-0123456789abcdef';
/** Header-signing keys (current and previous). */
export const SIGNING_SECRETS = ['signing-secret-current-0123456789abcdefghij', 'signing-secret-previous-0123456789abcdefghi'];

/** The surface workflow: returns `version` so a test can tell which config answered. */
export const workflowSource = (version: string) =>
  `export default async function article() { return { properties: { version: ${JSON.stringify(version)} } }; }\n`;

export interface OpsConfigOptions {
  /** The anonymous plan's article limit (a month). */
  limit?: number;
  failurePolicy?: 'open' | 'closed';
  /** Extra YAML appended under `jwt.integrations`. */
  extraIntegration?: string;
  redisUrl?: string;
  /** Mount the decision API on the gateway port under this prefix. */
  mountPath?: string;
  /** server.maxPendingDecisions (load shedding). */
  maxPendingDecisions?: number;
  /** The `article` surface's workflow source (default: workflowSource('v1')). */
  articleWorkflow?: string;
  /** The `article` surface declares the consumption of articles.enabled itself (so API decisions consume). */
  surfaceConsume?: boolean;
  workflowTimeoutMs?: number;
}

export function opsYaml(options: OpsConfigOptions = {}): string {
  return `version: 1
apiKeys:
  - key: ${SECRET_API_KEY}
    name: ops test key
anonymousIds:
  keys:
    - id: \${ANONYMOUS_ID_KEY_ID}
      secret: \${ANONYMOUS_ID_SECRET}
jwt:
  integrations:
    - name: RSA
      algorithms: [RS256]
      publicKeyFile: \${KEY_FILE}
      claimKey: email
    - name: HMAC
      algorithms: [HS256]
      secret: \${HMAC_SECRET}
      claimKey: email
${options.extraIntegration ?? ''}
features:
  articles:
    name: Articles
plans:
  anonymous:
    name: Anonymous
    assign: anonymous
    features:
      articles:
        enabled: { limit: ${options.limit ?? 1000}, period: month }
  registered:
    name: Registered
    assign: authenticated
    features:
      articles:
        enabled: { limit: 1000, period: month }
surfaces:
  article:
    workflow: article.ts${options.surfaceConsume ? '\n    consume: [articles.enabled]' : ''}
  site: {}${options.workflowTimeoutMs === undefined ? '' : `\nworkflows:\n  timeoutMs: ${options.workflowTimeoutMs}`}
store:
  failurePolicy: ${options.failurePolicy ?? 'open'}
  redis:
    url: ${options.redisUrl ?? '${REDIS_URL}'}
    keyPrefix: \${KEY_PREFIX}
    commandTimeoutMs: 80
    connectTimeoutMs: 2000
server:
  api: { host: 127.0.0.1, port: 0${options.mountPath ? `, mountPath: ${options.mountPath}` : ''} }
  ops: { host: 127.0.0.1, port: 0 }${options.maxPendingDecisions === undefined ? '' : `\n  maxPendingDecisions: ${options.maxPendingDecisions}`}
gateway:
  upstream: \${UPSTREAM}
  listen: { host: 127.0.0.1, port: 0 }
  signing:
    keys:
      - { id: current, secret: ${SIGNING_SECRETS[0]} }
      - { id: previous, secret: ${SIGNING_SECRETS[1]} }
  routes:
    - path: /articles/*
      surface: article
      consume: [articles.enabled]
    - path: /slow
      surface: site
    - path: /**
      surface: site
`;
}

export { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';

export interface TestKeys {
  publicKeyFile: string;
  signRsa(claims: Record<string, unknown>): Promise<string>;
  signHmac(claims: Record<string, unknown>): Promise<string>;
}

export async function testKeys(dir: string): Promise<TestKeys> {
  const rsa = await testKeyPair(dir, 'jwt.pub.pem');
  const hmacKey = new TextEncoder().encode(HMAC_SECRET);
  return {
    publicKeyFile: rsa.publicKeyFile,
    signRsa: (claims) => rsa.sign(claims, claims.exp === undefined ? { expiresIn: '1h' } : {}),
    signHmac: (claims) => expiring(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }), claims).sign(hmacKey),
  };
}

/** An hour from now unless the claims set `exp` themselves (expired-token tests). */
const expiring = (jwt: SignJWT, claims: Record<string, unknown>) => (claims.exp === undefined ? jwt.setExpirationTime('1h') : jwt);

export interface OpsStack {
  dir: string;
  file: string;
  env: Record<string, string | undefined>;
  keys: TestKeys;
  upstream: EchoUpstream;
  running: RunningServers;
  /** Everything the logger wrote, as text (one JSON object per line). */
  logText(): string;
  logLines(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface OpsSetup {
  dir: string;
  file: string;
  env: Record<string, string | undefined>;
  keys: TestKeys;
  upstream: EchoUpstream;
}

/** The config and its workflow in a temp dir, keys, an upstream, and the `${VAR}` values that tie them together. */
export async function prepareOps(scope: string, options: OpsConfigOptions = {}): Promise<OpsSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'plangate-ops-'));
  const file = join(dir, 'plangate.yaml');
  writeFileSync(file, opsYaml(options));
  writeFileSync(join(dir, 'article.ts'), options.articleWorkflow ?? workflowSource('v1'));
  const keys = await testKeys(dir);
  const upstream = await startEchoUpstream();
  const env = {
    ...process.env,
    KEY_FILE: keys.publicKeyFile,
    HMAC_SECRET,
    ANONYMOUS_ID_KEY_ID: TEST_ANONYMOUS_ID_KEY.id,
    ANONYMOUS_ID_SECRET: TEST_ANONYMOUS_ID_KEY.secret,
    REDIS_URL: testRedisUrl(),
    KEY_PREFIX: testKeyPrefix(scope),
    UPSTREAM: upstream.url,
  };
  return { dir, file, env, keys, upstream };
}

/** Writes the config and its workflow into a temp dir and runs the whole stack on free ports. */
export async function startOpsStack(scope: string, options: OpsConfigOptions & { watch?: boolean; shutdownTimeoutMs?: number } = {}): Promise<OpsStack> {
  const { dir, file, env, keys, upstream } = await prepareOps(scope, options);
  let text = '';
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void (text += line) } });
  const running = await runGateway({
    model: await loadConfig(file, { env }),
    env,
    logger,
    watch: options.watch ?? false,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
  });
  return {
    dir,
    file,
    env,
    keys,
    upstream,
    running,
    logText: () => text,
    logLines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      await running.close();
      await upstream.close();
    },
  };
}

/** The value of one sample in Prometheus text (`name{labels} value`), 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (wanted.every(([k, v]) => have.get(k) === v)) return Number(match[3]);
  }
  return 0;
}

export interface GatewayChild {
  process: ChildProcess;
  gatewayUrl: string;
  opsUrl: string;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns a `plangate gateway` command line and waits until it prints its listeners. */
export async function spawnGateway(args: string[], options: SpawnOptions): Promise<GatewayChild> {
  const proc = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (c) => (output += c));
  proc.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!/ops .* on (http:\S+)/.test(output)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const gatewayUrl = /gateway listening on (http:\S+)/.exec(output)![1];
  const opsUrl = /ops .* on (http:\S+)/.exec(output)![1];
  return { process: proc, gatewayUrl, opsUrl, output: () => output, exited };
}

/** A GET on a connection of its own (no keep-alive): the status and the whole body, or the error that ended it. */
export function getOnce(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

/** Polls `check` every 50 ms until it holds; throws naming `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The test's child gateway and upstream, killed and closed after each test. */
export function childCleanup(): { child?: GatewayChild; upstream?: EchoUpstream } {
  const state: { child?: GatewayChild; upstream?: EchoUpstream } = {};
  afterEach(async () => {
    if (state.child && state.child.process.exitCode === null) state.child.process.kill('SIGKILL');
    await state.upstream?.close();
    state.child = undefined;
    state.upstream = undefined;
  });
  return state;
}
