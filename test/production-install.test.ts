// The production install the Dockerfile makes, without Docker: the built output (dist/) and the
// config in a temp copy, `npm ci --omit=dev --ignore-scripts` there, then `node dist/cli.js gateway`
// on the demo config (with an anonymous-id secret, as production needs) as an unprivileged user (nobody, when the tests run as root): a request through
// it is decided (plangate's headers reach the upstream) and the ops port's /healthz answers.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { exportSPKI, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnGateway, startEchoUpstream, type EchoUpstream } from './ops/harness.js';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..');
const NOBODY = 65534;

let upstream: EchoUpstream | undefined;
afterAll(async () => {
  await upstream?.close();
});

describe('production install', () => {
  it('serves the demo config from a production-only install, as an unprivileged user', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-prod-'));
    await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], {
      cwd: repo,
    });
    for (const entry of ['package.json', 'package-lock.json', 'config', 'bin']) cpSync(join(repo, entry), join(dir, entry), { recursive: true });
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 150_000 });
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    writeFileSync(join(dir, 'jwt.pub.pem'), await exportSPKI(publicKey));
    // As an operator would: the demo config with an anonymous-id secret from the environment.
    const demo = readFileSync(join(dir, 'config/plangate.yaml'), 'utf8');
    writeFileSync(join(dir, 'config/production.yaml'), `${demo}\nanonymousIds:\n  keys:\n    - id: prod-1\n      secret: \${PLANGATE_ANONYMOUS_ID_SECRET}\n`);
    // Readable (not writable) by everyone: the unprivileged user only reads the install.
    await run('chmod', ['-R', 'a+rX,go-w', dir]);
    chmodSync(dir, 0o755);

    upstream = await startEchoUpstream();
    const asRoot = process.getuid?.() === 0;
    const child = await spawnGateway(['dist/cli.js', 'gateway', '--config', 'config/production.yaml', '--port', '0', '--ops-port', '0', '--no-watch'], {
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
      if (asRoot && existsSync(`/proc/${child.process.pid}/status`))
        expect(readFileSync(`/proc/${child.process.pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s/m);
    } finally {
      child.process.kill('SIGTERM');
    }
    expect(await child.exited).toBe(0);
  });
});
