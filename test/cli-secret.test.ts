// The anonymous-id secret at the command line: `gateway` and `serve` refuse a config without one
// (what, where, how to fix), `--dev` generates one under .plangate/ with a warning and keeps it, a
// configured secret is used as is, and `npm start` passes --dev. Each command runs in a temp
// directory of its own, so the repository's .plangate/ is never touched.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { spawnGateway } from './ops/harness.js';
import { startUpstream, upstreamFromEnvConfig } from './gateway/harness.js';

const CLI = resolve('src/cli.ts');
const TSX = import.meta.resolve('tsx');
const run = promisify(execFile);

/** One decided `/**` route; listeners on free ports come from the command's flags. */
function configIn(dir: string, extra = ''): string {
  const file = join(dir, 'plangate.yaml');
  writeFileSync(file, upstreamFromEnvConfig({ headerTimeoutMs: 5_000, route: 'surface: site' }) + extra);
  return file;
}
const PORTS = ['--port', '0', '--ops-port', '0'];

const cli = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    env: { ...process.env, PLANGATE_UPSTREAM: 'http://127.0.0.1:1', ...env },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('without an anonymous-id secret', () => {
  it.each([['gateway'], ['serve']])('%s refuses to run, saying what, where and how to fix it', async (command) => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-cli-secret-'));
    const file = configIn(dir);
    const result = await cli(dir, [command, file, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: no anonymous-id secret configured (anonymousIds.keys)`);
    expect(result.stderr).toContain('${PLANGATE_ANONYMOUS_ID_SECRET}');
    expect(result.stderr).toMatch(/openssl rand -base64 48/);
    expect(result.stderr).toMatch(/--dev/);
    expect(result.stdout).not.toMatch(/listening/);
    expect(existsSync(join(dir, '.plangate'))).toBe(false);
  });
});

describe('--dev', () => {
  it('generates a secret under .plangate/ (mode 600), warns, signs with it, and reuses it on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-cli-dev-'));
    const upstream = await startUpstream();
    const file = configIn(dir);
    const start = () =>
      spawnGateway(['--import', TSX, CLI, 'gateway', '--config', file, ...PORTS, '--no-watch', '--dev'], {
        cwd: dir,
        env: { ...process.env, PLANGATE_UPSTREAM: upstream.url },
      });
    try {
      const first = await start();
      const secretFile = join(dir, '.plangate/anonymous-id.secret');
      const secret = readFileSync(secretFile, 'utf8').trim();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      expect(first.output()).toMatch(
        /warning: --dev: anonymous ids are signed with the development secret in \.plangate\/anonymous-id\.secret.*never in production/,
      );
      const cookie = (await fetch(first.gatewayUrl)).headers.getSetCookie().find((c) => c.startsWith('plangate_anon='))!;
      first.process.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      // The same secret on the next start: the cookie the visitor holds is still theirs.
      const second = await start();
      expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret);
      const again = await fetch(second.gatewayUrl, { headers: { cookie: cookie.split(';')[0] } });
      expect(again.headers.getSetCookie().some((c) => c.startsWith('plangate_anon='))).toBe(false);
      expect(upstream.seen.at(-1)!.headers['x-plangate-id']).toBe(cookie.split('=')[1].slice(0, 36));
      // A reload keeps the development key (the file still declares none).
      second.process.kill('SIGHUP');
      for (let i = 0; i < 200 && !/config-reloaded/.test(second.output()); i++) await new Promise((r) => setTimeout(r, 25));
      expect(second.output()).toMatch(/config-reloaded/);
      const reloaded = await fetch(second.gatewayUrl, { headers: { cookie: cookie.split(';')[0] } });
      expect(reloaded.status).toBe(200);
      expect(reloaded.headers.getSetCookie().some((c) => c.startsWith('plangate_anon='))).toBe(false);
      second.process.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await upstream.close();
    }
  });

  it('is not used, and says nothing, when the config declares its keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-cli-configured-'));
    const file = configIn(dir, 'anonymousIds:\n  keys:\n    - id: k1\n      secret: ${ANON_SECRET}\n');
    const child = await spawnGateway(['--import', TSX, CLI, 'gateway', '--config', file, ...PORTS, '--no-watch', '--dev'], {
      cwd: dir,
      env: { ...process.env, PLANGATE_UPSTREAM: 'http://127.0.0.1:1', ANON_SECRET: 'a-configured-secret-of-more-than-32-bytes' },
    });
    expect(child.output()).not.toMatch(/--dev/);
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  });
});

it('npm start runs `start --dev`', () => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  expect(scripts.start).toMatch(/ start --dev$/);
});
