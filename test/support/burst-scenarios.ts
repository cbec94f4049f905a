// The burst scenarios of the meter-store acceptance tests and `npm run bench -- --burst`: real
// plangate processes over one Redis (single or Cluster), fresh users per burst, each user sending
// `perUser` requests at once against a meter of LIMIT. A burst is exact when every user got exactly
// LIMIT grants, nothing was degraded or shed, and no process logged a warning or an error.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { sendBurst, type BurstReply, type BurstRequest } from './burst.js';
import { startPlangate, type PlangateProcess } from './plangate-process.js';

export const LIMIT = 3;
const SECRET_KEY = 'sk_local_hello_world';

/**
 * `api-workflow`: `plangate serve` on the hello-world config; each decision's surface workflow calls
 * consume() (two store calls per decision). `gateway-declared`: `plangate gateway` with a route that
 * declares the consumption (one store call per request), visitors identified by JWT.
 */
export type BurstKind = 'api-workflow' | 'gateway-declared';

export interface BurstStore {
  /** `{ url }` or `{ cluster: [...] }` as YAML flow text for store.redis, without the key prefix. */
  redisYaml: string;
  /** For the hello-world config, which reads REDIS_URL. */
  url?: string;
}

export interface BurstOutcome {
  kind: BurstKind;
  processes: number;
  requests: number;
  users: number;
  elapsedMs: number;
  /** Users granted more than LIMIT. */
  overGranted: number;
  /** Users granted fewer than LIMIT (shed, denied by a failure, or lost). */
  underGranted: number;
  maxGrants: number;
  degraded: number;
  /** 503 answers (load shed). */
  shed: number;
  /** Anything else unexpected: statuses other than grant / deny / 503, failed connections. */
  errors: number;
  /** What the errors were (distinct, a few). */
  errorSamples: string[];
  /** Warnings and errors the processes logged during the burst, by code. */
  events: Record<string, number>;
  exact: boolean;
}

export interface BurstRig {
  kind: BurstKind;
  processes: PlangateProcess[];
  /** One burst of `users` fresh users x `perUser` requests, spread round-robin over the first `over` processes (default all). */
  burst(users: number, perUser: number, over?: number): Promise<BurstOutcome>;
  /** Stops the processes (they flush their logs on exit). */
  close(): Promise<void>;
  /** Warnings and errors every process logged (complete after close()), as `code` strings. */
  problems(): string[];
}

export interface BurstRigOptions {
  kind: BurstKind;
  processes: number;
  store: BurstStore;
  /** Key prefix (per run); each burst uses fresh users under it. */
  keyPrefix: string;
  /** The checkout whose CLI runs (default: this one); the bench measures older commits this way. */
  root?: string;
  /** Top-level YAML added to the config (e.g. `server: { maxPendingDecisions: 100 }`). */
  extraYaml?: string;
  env?: Record<string, string>;
  /**
   * Milliseconds to wait after each burst for the processes' log lines (they flush every second), so
   * each outcome counts its own events. Without it, events logged later show in `problems()` after close().
   */
  settleMs?: number;
}

const HELLO_WORLD = 'config/examples/hello-world.yaml';

export async function startBurstRig(options: BurstRigOptions): Promise<BurstRig> {
  const root = options.root ?? process.cwd();
  const dir = mkdtempSync(join(tmpdir(), 'plangate-burst-'));
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicKeyFile = join(dir, 'jwt.pub.pem');
  writeFileSync(publicKeyFile, await exportSPKI(publicKey));
  const upstream = options.kind === 'gateway-declared' ? await startEchoUpstream() : undefined;
  const extra = `${anonymousIdsYaml(root)}${options.extraYaml ?? ''}`;
  const config = options.kind === 'api-workflow' ? apiConfig(root, dir, options, extra) : gatewayConfig(dir, options, upstream!.url, extra);
  const env: Record<string, string> = {
    PLANGATE_LOG_LEVEL: 'warn',
    PLANGATE_TEST_JWT_PUBLIC_KEY: publicKeyFile,
    BURST_JWT_PUBLIC_KEY: publicKeyFile,
    REDIS_URL: options.store.url ?? '',
    PLANGATE_REDIS_PREFIX: options.keyPrefix,
    ...options.env,
  };
  const processes: PlangateProcess[] = [];
  try {
    for (const p of await Promise.all(
      Array.from({ length: options.processes }, () => startPlangate({ command: options.kind === 'api-workflow' ? 'serve' : 'gateway', config, env, root })),
    ))
      processes.push(p);
  } catch (err) {
    await Promise.all(processes.map((p) => p.stop()));
    await upstream?.close();
    throw err;
  }
  let round = 0;
  return {
    kind: options.kind,
    processes,
    async burst(users, perUser, over = processes.length) {
      round++;
      const targets = processes.slice(0, over);
      const ids = Array.from({ length: users }, (_, i) => `burst-${round}-${i}-${randomUUID()}`);
      const requests: BurstRequest[] = [];
      const owners: string[] = [];
      const tokens = options.kind === 'gateway-declared' ? await Promise.all(ids.map((id) => sign(privateKey, id))) : [];
      let n = 0;
      for (let j = 0; j < perUser; j++) {
        for (let u = 0; u < users; u++) {
          const origin = targets[n++ % targets.length].url;
          owners.push(ids[u]);
          requests.push(options.kind === 'api-workflow' ? apiRequest(origin, ids[u]) : gatewayRequest(origin, tokens[u], j));
        }
      }
      const before = processes.map((p) => p.events.length);
      const { replies, elapsedMs } = await sendBurst(requests);
      // Log lines are batched by the process (flushed every second and on exit).
      if (options.settleMs) await new Promise((r) => setTimeout(r, options.settleMs));
      const events: Record<string, number> = {};
      processes.forEach((p, i) => {
        for (const e of p.events.slice(before[i])) {
          if (e.level < 40) continue;
          const code = String(e.code ?? e.msg);
          events[code] = (events[code] ?? 0) + 1;
        }
      });
      return judge(options.kind, targets.length, owners, replies, elapsedMs, users, events);
    },
    async close() {
      await Promise.all(processes.map((p) => p.stop()));
      await upstream?.close();
    },
    problems: () => processes.flatMap((p) => p.problems()),
  };
}

function judge(
  kind: BurstKind,
  processes: number,
  owners: string[],
  replies: BurstReply[],
  elapsedMs: number,
  users: number,
  events: Record<string, number>,
): BurstOutcome {
  const grants = new Map<string, number>();
  let degraded = 0;
  let shed = 0;
  let errors = 0;
  const errorSamples = new Set<string>();
  replies.forEach((reply, i) => {
    const verdict = kind === 'api-workflow' ? apiVerdict(reply) : gatewayVerdict(reply);
    if (verdict.degraded) degraded++;
    if (verdict.kind === 'shed') shed++;
    else if (verdict.kind === 'error') {
      errors++;
      if (errorSamples.size < 5) errorSamples.add(`${reply.status} ${reply.body.slice(0, 120)}`);
    } else if (verdict.kind === 'granted') grants.set(owners[i], (grants.get(owners[i]) ?? 0) + 1);
  });
  let overGranted = 0;
  let underGranted = 0;
  let maxGrants = 0;
  for (const owner of new Set(owners)) {
    const g = grants.get(owner) ?? 0;
    maxGrants = Math.max(maxGrants, g);
    if (g > LIMIT) overGranted++;
    if (g < LIMIT) underGranted++;
  }
  const exact = overGranted === 0 && underGranted === 0 && degraded === 0 && shed === 0 && errors === 0 && Object.keys(events).length === 0;
  return {
    kind,
    processes,
    requests: replies.length,
    users,
    elapsedMs: Math.round(elapsedMs),
    overGranted,
    underGranted,
    maxGrants,
    degraded,
    shed,
    errors,
    errorSamples: [...errorSamples],
    events,
    exact,
  };
}

type Verdict = { kind: 'granted' | 'denied' | 'shed' | 'error'; degraded: boolean };

function apiVerdict(reply: BurstReply): Verdict {
  if (reply.status === 503) return { kind: 'shed', degraded: false };
  if (reply.status !== 200) return { kind: 'error', degraded: false };
  const body = JSON.parse(reply.body) as { degraded?: boolean; surfaceBehavior?: { properties?: { widgetAccess?: boolean } } };
  return { kind: body.surfaceBehavior?.properties?.widgetAccess === true ? 'granted' : 'denied', degraded: body.degraded === true };
}

function gatewayVerdict(reply: BurstReply): Verdict {
  if (reply.status === 503) return { kind: 'shed', degraded: false };
  if (reply.status === 402) return { kind: 'denied', degraded: false };
  if (reply.status !== 200) return { kind: 'error', degraded: false };
  const seen = JSON.parse(reply.body) as { degraded?: string };
  return { kind: 'granted', degraded: seen.degraded === 'true' };
}

function apiRequest(origin: string, user: string): BurstRequest {
  return {
    url: `${origin}/api/v1/surface-decisions`,
    method: 'POST',
    headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ surfaceSlug: 'hello-world', identity: { userIdentifier: user } }),
  };
}

function gatewayRequest(origin: string, token: string, article: number): BurstRequest {
  return { url: `${origin}/articles/${article}`, headers: { authorization: `Bearer ${token}` } };
}

function sign(key: CryptoKey, sub: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject(sub).setExpirationTime('1h').sign(key);
}

/** The tutorial config with this rig's store (a URL or a Cluster) and `extra` top-level YAML. */
function apiConfig(root: string, dir: string, options: BurstRigOptions, extra: string): string {
  const file = join(dir, 'hello-world.yaml');
  const original = readFileSync(resolve(root, HELLO_WORLD), 'utf8');
  const text = original
    .replace(/hello-world\//g, `${resolve(root, 'config/examples/hello-world')}/`)
    .replace(/\nstore:[\s\S]*$/, `\nstore:\n  redis: { ${options.store.redisYaml}, keyPrefix: "${options.keyPrefix}" }\n  failurePolicy: open\n${extra}`);
  writeFileSync(file, text);
  return file;
}

/**
 * A fixed anonymous-id secret, for checkouts that sign anonymous ids (they refuse to start without
 * one); older checkouts (the bench's --baseline) do not know the key.
 */
export function anonymousIdsYaml(root: string): string {
  if (!existsSync(join(root, 'src/engine/identity/anonymous-ids.ts'))) return '';
  return 'anonymousIds:\n  keys:\n    - { id: burst, secret: burst-anonymous-id-secret-of-more-than-32-bytes }\n';
}

/**
 * The gateway config of the bursts (and of `npm run chaos`): JWT visitors (the public key file in
 * BURST_JWT_PUBLIC_KEY) with a meter of `limit` a month on /articles/**, written to `dir`.
 */
export function gatewayConfig(dir: string, options: Pick<BurstRigOptions, 'store' | 'keyPrefix'>, upstream: string, extra: string, limit = LIMIT): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `version: 1
jwt:
  integrations:
    - name: burst
      algorithms: [RS256]
      publicKeyFile: \${BURST_JWT_PUBLIC_KEY}
      claimKey: sub
features:
  article: {}
plans:
  anonymous: { assign: anonymous, features: { article: { enabled: { limit: ${limit}, period: month } } } }
  registered: { assign: authenticated, features: { article: { enabled: { limit: ${limit}, period: month } } } }
surfaces:
  article-page: {}
store:
  redis: { ${options.store.redisYaml}, keyPrefix: "${options.keyPrefix}" }
  failurePolicy: open
${extra}gateway:
  upstream: ${upstream}
  routes:
    - path: /articles/**
      surface: article-page
      consume:
        - property: article.enabled
          units: 1
    - path: /**
      bypass: true
`,
  );
  return file;
}

/**
 * An upstream that answers every request with the `degraded` header the gateway injected. In its own
 * process: a burst of thousands holds as many upstream connections as client ones, and one process
 * holding both sides would run out of file descriptors first.
 */
export async function startEchoUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const source = `const server = require('node:http').createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ degraded: req.headers['x-plangate-degraded'] }));
  });
  server.keepAliveTimeout = 60000;
  // A deep listen backlog: the gateway opens one upstream connection per request in flight.
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the echo upstream exited (${code})`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
