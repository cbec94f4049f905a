// Several plangate processes over one Redis behind one port, as a site runs them: four real
// `plangate gateway` processes (same config file, same secrets from the environment), a round-robin
// TCP balancer in front (each connection to the next instance, so a visitor's requests land on all
// of them), and an upstream that verifies every request's header signature. Meters stay exact under a
// 400-request burst over two and over four instances; an anonymous cookie from one instance is
// honoured by the others (same id, same meter, never re-minted); a reload of one instance in the
// middle of a burst disturbs neither the other instances nor the count.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createConnection, createServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPlangateHeaders } from '../../src/verify/index.js';
import { testKeyPrefix, testRedisUrl } from '../support/env.js';
import { startPlangate, type PlangateProcess } from '../support/plangate-process.js';
import { closeServer, listen } from '../support/upstream.js';
import { until } from '../ops/harness.js';

const LIMIT = 250;
const BURST = 400;
const SIGNING_KEY = { id: 'shared-1', secret: `signing-${randomUUID()}-${randomUUID()}` };

const yaml = (extraRoute = '') => `version: 1
anonymousIds:
  keys:
    - id: shared-anon
      secret: \${ANON_SECRET}
features:
  articles: { name: Articles }
plans:
  anonymous:
    name: Anonymous
    assign: anonymous
    features:
      articles:
        enabled: { limit: ${LIMIT}, period: month }
surfaces:
  article: {}
  site: {}
store:
  # The failure policy is not what this test is about: on a loaded shared machine an 80 ms command
  # timeout trips now and then, and fail-open would grant past the limit (docs/redis.md). Closed, with
  # a long timeout, any store failure shows as a problem logged below, never as a silent grant.
  failurePolicy: closed
  redis:
    url: \${REDIS_URL}
    keyPrefix: \${KEY_PREFIX}
    commandTimeoutMs: 5000
gateway:
  upstream: \${UPSTREAM}
  signing:
    keys:
      - id: ${SIGNING_KEY.id}
        secret: \${SIGNING_SECRET}
  routes:${extraRoute}
    - path: /articles/**
      surface: article
      consume: [articles.enabled]
    - path: /**
      surface: site
`;

/** What the upstream saw: the verified identity of each request, and every verification failure. */
const verified: string[] = [];
const failures: string[] = [];
let upstream: Server;
let upstreamUrl: string;
let configFile: string;
const instances: PlangateProcess[] = [];
const balancers: TcpServer[] = [];

/** A round-robin TCP balancer: each new connection goes to the next instance. */
async function balancer(targets: PlangateProcess[]): Promise<string> {
  let next = 0;
  const server = createServer((client: Socket) => {
    const { port } = new URL(targets[next++ % targets.length].url);
    const backend = createConnection(Number(port), '127.0.0.1');
    client.pipe(backend).pipe(client);
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.destroy());
  });
  balancers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

interface Answer {
  status: number;
  setCookie: string[];
}

/** One request on its own connection (so the balancer moves it on), cookie as given. */
function get(base: string, path: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent: false, headers: cookie ? { cookie } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: ([] as string[]).concat(res.headers['set-cookie'] ?? []) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function requestLines(instance: PlangateProcess): { path?: string; outcome?: string; status?: number }[] {
  return instance.events.filter((e) => e.code === 'request') as never;
}

/** A new visitor: its cookie from `base`, one article read. */
async function newVisitor(base: string): Promise<string> {
  const first = await get(base, '/articles/first');
  expect(first.status).toBe(200);
  const cookie = first.setCookie.find((c) => c.startsWith('plangate_anon='));
  expect(cookie).toBeDefined();
  return cookie!.split(';')[0];
}

/** BURST concurrent reads by one visitor through `base`: exactly the LIMIT - 1 reads left are granted. */
async function burst(base: string, cookie: string, during?: () => void): Promise<Answer[]> {
  const answers = Array.from({ length: BURST }, (_, i) => get(base, `/articles/a-${i}`, cookie));
  during?.();
  return Promise.all(answers);
}

function expectExact(answers: Answer[], cookie: string): void {
  for (const instance of instances) expect(instance.problems()).toEqual([]);
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT - 1);
  expect(statuses.filter((s) => s === 402)).toHaveLength(BURST - (LIMIT - 1));
  // The cookie is honoured everywhere: no instance minted another id for this visitor.
  const id = cookie.slice('plangate_anon='.length).split('.')[0];
  for (const a of answers) for (const c of a.setCookie.filter((x) => x.startsWith('plangate_anon='))) expect(c).toContain(id);
}

beforeAll(async () => {
  upstream = createHttpServer((req, res) => {
    const result = verifyPlangateHeaders({ method: req.method ?? 'GET', target: req.url ?? '', host: req.headers.host, headers: req.headers }, { keys: [SIGNING_KEY] });
    if (result.ok) verified.push(result.identity?.id ?? '-');
    else failures.push(result.reason);
    res.writeHead(result.ok ? 200 : 401, { 'content-type': 'text/plain' });
    res.end(result.ok ? 'article' : result.reason);
  });
  upstreamUrl = await listen(upstream);
  const dir = mkdtempSync(join(tmpdir(), 'plangate-many-'));
  configFile = join(dir, 'plangate.yaml');
  writeFileSync(configFile, yaml());
  const env = {
    REDIS_URL: testRedisUrl(),
    KEY_PREFIX: testKeyPrefix('many-instances'),
    UPSTREAM: upstreamUrl,
    ANON_SECRET: `anon-${randomUUID()}-${randomUUID()}`,
    SIGNING_SECRET: SIGNING_KEY.secret,
    PLANGATE_LOG_LEVEL: 'info',
  };
  // Started one after the other: four tsx start-ups at once on a loaded machine can pass the start timeout.
  for (let i = 0; i < 4; i++) instances.push(await startPlangate({ command: 'gateway', config: configFile, env, startTimeoutMs: 90_000 }));
}, 400_000);

afterAll(async () => {
  for (const server of balancers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await Promise.all(instances.map((i) => i.stop()));
  if (upstream) await closeServer(upstream);
});

describe('several instances over one Redis behind one port', () => {
  it('an anonymous cookie from one instance is the same visitor and the same meter on the others', { timeout: 60_000 }, async () => {
    const cookie = await newVisitor(instances[0].url);
    const id = verified.at(-1)!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    for (const instance of instances.slice(1)) {
      const answer = await get(instance.url, '/articles/again', cookie);
      expect(answer.status).toBe(200);
      expect(answer.setCookie.filter((c) => c.startsWith('plangate_anon=') && !c.includes(id))).toEqual([]);
      expect(verified.at(-1)).toBe(id);
    }
    expect(failures).toEqual([]);
    // Lines reach stdout within a second: wait for them, so the next test counts only its own.
    await until(() => instances.slice(1).every((i) => requestLines(i).some((l) => l.path === '/articles/again')), 'the request lines', 30_000);
  });

  it('meters stay exact under a 400-request burst over two instances', { timeout: 120_000 }, async () => {
    const base = await balancer(instances.slice(0, 2));
    const before = instances.map((i) => requestLines(i).length);
    const cookie = await newVisitor(base);
    expectExact(await burst(base, cookie), cookie);
    // Every request reached one of the two, half each (the balancer alternates), none the others.
    await until(() => instances.slice(0, 2).reduce((n, i, k) => n + requestLines(i).length - before[k], 0) === BURST + 1, 'the request lines', 30_000);
    const served = instances.map((i, k) => requestLines(i).length - before[k]);
    expect(served.slice(2)).toEqual([0, 0]);
    expect(Math.min(served[0], served[1])).toBe(BURST / 2);
    expect(failures).toEqual([]);
  });

  it('meters stay exact under a 400-request burst over four instances', { timeout: 120_000 }, async () => {
    const base = await balancer(instances);
    const before = instances.map((i) => requestLines(i).length);
    const cookie = await newVisitor(base);
    expectExact(await burst(base, cookie), cookie);
    await until(() => instances.reduce((n, i, k) => n + requestLines(i).length - before[k], 0) === BURST + 1, 'the request lines', 30_000);
    const served = instances.map((i, k) => requestLines(i).length - before[k]);
    for (const n of served) expect(n).toBeGreaterThanOrEqual(BURST / 4);
    // Every forwarded request's signature verified (shared signing keys).
    expect(failures).toEqual([]);
  });

  it('a reload of one instance during a burst disturbs neither the others nor the meter', { timeout: 120_000 }, async () => {
    const base = await balancer(instances);
    const cookie = await newVisitor(base);
    // The new config adds a bypass route; only instance 0 is told to reload.
    writeFileSync(configFile, yaml('\n    - path: /fresh/**\n      bypass: true'));
    const reloadsBefore = instances.map((i) => i.events.filter((e) => e.code === 'config-reloaded').length);
    const answers = await burst(base, cookie, () => process.kill(instances[0].pid, 'SIGHUP'));
    expectExact(answers, cookie);
    await until(() => instances[0].events.filter((e) => e.code === 'config-reloaded').length === reloadsBefore[0] + 1, 'the reload');
    expect(instances.slice(1).map((i) => i.events.filter((e) => e.code === 'config-reloaded').length)).toEqual(reloadsBefore.slice(1));
    // Instance 0 runs the new routes, the others the old ones.
    for (const instance of instances) expect((await get(instance.url, '/fresh/x', cookie)).status).toBe(200);
    await until(() => instances.every((i) => requestLines(i).some((l) => l.path === '/fresh/x')), 'the /fresh lines');
    const outcome = (i: PlangateProcess) => requestLines(i).find((l) => l.path === '/fresh/x')!.outcome;
    expect(instances.map(outcome)).toEqual(['bypassed', 'forwarded', 'forwarded', 'forwarded']);
    expect(failures).toEqual([]);
    for (const instance of instances) expect(instance.problems()).toEqual([]);
  });
});
