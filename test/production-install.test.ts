// The production install the Dockerfile makes, without Docker: the built output (dist/) and the
// config in a temp copy, `npm ci --omit=dev --ignore-scripts` there, then
//
// 1. the Dockerfile's own ENTRYPOINT + CMD, with its ENV, as an unprivileged user, in the WORKDIR
//    (the install), with the environment and the config mount of examples/docker-compose.yml's
//    `plangate` service: both files are read here, not copied. What a container would change is
//    mapped, and only that: the mounted directory's container path becomes a temp copy of the host
//    directory (plus a generated JWT public key, the step the compose file asks of the operator),
//    the compose services' host names become this test's Redis and demo site, and the two published
//    ports become free ones (PLANGATE_PORT, PLANGATE_OPS_PORT, as `-p` would map them). The
//    HEALTHCHECK's command is run as written;
// 2. `node dist/cli/main.js gateway` on the demo config with an anonymous-id secret from the
//    environment, as an operator running without a container would.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoSite } from '../examples/demo-site/server.js';
import { nodeFlags, readCompose, readDockerfile } from './support/container-spec.js';
import { freePort, startRedisServer, type RedisServerHandle } from './support/redis-server.js';
import { spawnGateway, startEchoUpstream, type EchoUpstream, type GatewayChild } from './ops/harness.js';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..');
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

let install: string;
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

beforeAll(async () => {
  install = mkdtempSync(join(tmpdir(), 'plangate-prod-'));
  await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(install, 'dist')], {
    cwd: repo,
  });
  for (const entry of ['package.json', 'package-lock.json', 'config', 'bin']) cpSync(join(repo, entry), join(install, entry), { recursive: true });
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: install, timeout: 150_000 });
}, 240_000);

/** Makes a directory tree readable (not writable) by everyone: the unprivileged user only reads it. */
async function readableByAll(dir: string): Promise<void> {
  await run('chmod', ['-R', 'a+rX,go-w', dir]);
  chmodSync(dir, 0o755);
}

/** Checks the process runs as the unprivileged user (when the tests run as root), then SIGTERM: it drains and exits 0. */
async function stopUnprivileged(child: GatewayChild): Promise<void> {
  try {
    if (asRoot && existsSync(`/proc/${child.process.pid}/status`))
      expect(readFileSync(`/proc/${child.process.pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s/m);
  } finally {
    child.process.kill('SIGTERM');
  }
  expect(await child.exited).toBe(0);
}

describe('production install', () => {
  it('starts node with the runtime flags of docs/operations.md, from the image and from the bin alike', () => {
    const flags = nodeFlags(readDockerfile(readFileSync(join(repo, 'Dockerfile'), 'utf8')).cmd);
    expect(flags).toContain('--no-memory-reducer');
    expect(flags.some((flag) => flag.startsWith('--min-semi-space-size='))).toBe(true);
    // The npm bin starts node itself (its shebang): the same flags, in the same order.
    const shebang = readFileSync(join(repo, 'bin/plangate.js'), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags.join(' ')}`);
  });

  it("runs the Dockerfile's command with docker-compose.yml's environment and config mount", { timeout: 120_000 }, async () => {
    const image = readDockerfile(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
    const secret = 'a-compose-secret-of-more-than-32-bytes-0123456789';
    const compose = readCompose(readFileSync(join(repo, 'examples/docker-compose.yml'), 'utf8'), { PLANGATE_ANONYMOUS_ID_SECRET: secret });
    const service = compose.services.plangate;
    expect(service, 'examples/docker-compose.yml has a plangate service').toBeDefined();
    expect(Object.keys(compose.services).sort()).toEqual(['plangate', 'redis', 'site']);

    // Non-root, a health check, and both listeners on all interfaces.
    expect(image.user).toBeDefined();
    expect(['root', '0']).not.toContain(image.user);
    expect(image.healthcheck).toBeDefined();
    expect(image.env.PLANGATE_HOST).toBe('0.0.0.0');
    expect(image.env.PLANGATE_OPS_HOST).toBe('0.0.0.0');

    // The one mounted directory: a copy of the host directory, plus the public key the operator adds.
    const configCommand = [...image.entrypoint, ...image.cmd];
    expect(service.mounts).toHaveLength(1);
    const [mount] = service.mounts;
    expect(mount.readOnly).toBe(true);
    const mounted = mkdtempSync(join(tmpdir(), 'plangate-mount-'));
    cpSync(resolve(repo, 'examples', mount.source), mounted, { recursive: true });
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    writeFileSync(join(mounted, 'keys/test-jwt.pub.pem'), await exportSPKI(publicKey));
    await readableByAll(mounted);
    const inContainer = (arg: string) => (arg === mount.target || arg.startsWith(`${mount.target}/`) ? mounted + arg.slice(mount.target.length) : arg);
    const args = configCommand.map(inContainer);
    expect(args[0]).toBe('node');

    // The compose services this one names by host: its own Redis and the demo site.
    const redis: RedisServerHandle = await startRedisServer();
    cleanups.push(() => redis.stop());
    const site = await startDemoSite({ port: 0 });
    cleanups.push(() => site.close());
    const services: Record<string, string> = { redis: new URL(redis.url).host, site: new URL(site.url).host };
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.environment)) {
      environment[key] = value.replace(/^(\w+:\/\/)([\w.-]+):(\d+)/, (all, scheme: string, host: string) => (services[host] ? scheme + services[host] : all));
    }
    expect(environment.REDIS_URL).toMatch(new RegExp(`^redis://${services.redis}`));
    expect(environment.PLANGATE_UPSTREAM).toMatch(new RegExp(`^http://${services.site}`));
    const [port, opsPort] = [await freePort(), await freePort()];
    const [check, ...checkArgs] = image.healthcheck!;
    const healthcheck = () => run(check === 'node' ? process.execPath : check, checkArgs, { env: { ...image.env, PLANGATE_OPS_PORT: String(opsPort) } });

    await readableByAll(install);
    const child = await spawnGateway(args.slice(1), {
      cwd: image.workdir === '/app' ? install : resolve(install, `.${image.workdir}`),
      env: { PATH: process.env.PATH, HOME: install, ...image.env, ...environment, PLANGATE_PORT: String(port), PLANGATE_OPS_PORT: String(opsPort) },
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    const { gatewayUrl, opsUrl } = child;
    try {
      expect(child.output()).toContain('redis meters');
      // Listening on all interfaces: reachable at a non-loopback address of this machine, when it has one.
      const outside = Object.values(networkInterfaces())
        .flat()
        .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
      for (const base of [gatewayUrl, ...(outside ? [`http://${outside}:${port}`] : [])]) {
        const page = await fetch(`${base}/articles/river-cleanup`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('Volunteers clean up the river');
        expect(page.headers.getSetCookie().find((c) => c.startsWith('plangate_anon='))).toMatch(/^plangate_anon=[0-9a-f-]{36}\.[\w-]{43};/);
      }
      if (outside) expect((await fetch(`http://${outside}:${opsPort}/healthz`)).status).toBe(200);

      // The meter lives in this Redis: the fourth different article of one reader is refused.
      const first = await fetch(`${gatewayUrl}/articles/new-library`);
      const cookie = first.headers.getSetCookie()[0].split(';')[0];
      for (const slug of ['city-council-budget', 'river-cleanup']) expect((await fetch(`${gatewayUrl}/articles/${slug}`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${gatewayUrl}/articles/cafe-guide`, { headers: { cookie } })).status).not.toBe(200);
      const client = new Redis(redis.url);
      cleanups.push(() => client.quit());
      expect((await client.dbsize()) > 0).toBe(true);

      // A premium reader's token, verified with the key from the mounted directory.
      const token = await new SignJWT({ email: 'reader@example.com', premium: true }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      expect((await fetch(`${gatewayUrl}/premium/investigation`)).status).not.toBe(200);
      expect((await fetch(`${gatewayUrl}/premium/investigation`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

      // The HEALTHCHECK, as written, in the container's environment.
      await expect(healthcheck()).resolves.toBeDefined();
      expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
    } finally {
      await stopUnprivileged(child);
    }
    // The health check fails once the process is gone.
    await expect(healthcheck()).rejects.toThrow();
  });

  it('serves the demo config from a production-only install, as an unprivileged user', { timeout: 120_000 }, async () => {
    const dir = install;
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    writeFileSync(join(dir, 'jwt.pub.pem'), await exportSPKI(publicKey));
    // As an operator would: the demo config with an anonymous-id secret from the environment.
    const demo = readFileSync(join(dir, 'config/plangate.yaml'), 'utf8');
    writeFileSync(join(dir, 'config/production.yaml'), `${demo}\nanonymousIds:\n  keys:\n    - id: prod-1\n      secret: \${PLANGATE_ANONYMOUS_ID_SECRET}\n`);
    await readableByAll(dir);

    const upstream: EchoUpstream = await startEchoUpstream();
    cleanups.push(() => upstream.close());
    const child = await spawnGateway(['dist/cli/main.js', 'gateway', '--config', 'config/production.yaml', '--port', '0', '--ops-port', '0', '--no-watch'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        REDIS_URL: '',
        PLANGATE_UPSTREAM: upstream.url,
        PLANGATE_TEST_JWT_PUBLIC_KEY: join(dir, 'jwt.pub.pem'),
        PLANGATE_ANONYMOUS_ID_SECRET: 'a-production-secret-of-more-than-32-bytes',
        PLANGATE_LOG_LEVEL: 'warn',
      },
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    const { gatewayUrl, opsUrl } = child;
    try {
      const page = await fetch(`${gatewayUrl}/articles/river-cleanup`);
      expect(page.status).toBe(200);
      expect(await page.json()).toMatchObject({ target: '/articles/river-cleanup', plans: 'anonymous' });
      const seen = upstream.seen.at(-1)!;
      expect(seen.headers['x-plangate-auth-type']).toBe('anonymous');
      expect(page.headers.getSetCookie().find((c) => c.startsWith('plangate_anon='))).toMatch(/^plangate_anon=[0-9a-f-]{36}\.[\w-]{43};/);
      expect(seen.headers['x-plangate-articles--enabled']).toMatch(/^access=1; remaining=2; limit=3$/);
      expect(Buffer.from(String(seen.headers['x-plangate-surface-properties']), 'base64url').toString()).toContain('"articlesLeft":2');
      const health = await fetch(`${opsUrl}/healthz`);
      expect(health.status).toBe(200);
      expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
    } finally {
      await stopUnprivileged(child);
    }
  });
});
