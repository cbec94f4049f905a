// The package as people use it: `import { plangateVerifier } from 'plangate'` from the checkout and
// from a project that installed the `npm pack` tarball (its bin too); with dist/ built, `npm start`'s
// command and the bin still run the demo site (before, the built CLI failed on the demo's .ts).
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..');
const IMPORT = "import { plangateVerifier } from 'plangate'; console.log(typeof plangateVerifier);";

let tarball: string;
let project: string;
beforeAll(async () => {
  // npm pack runs `prepare` (the build) first: dist/ goes into the tarball.
  const packDir = mkdtempSync(join(tmpdir(), 'plangate-pack-'));
  const { stdout } = await run('npm', ['pack', '--pack-destination', packDir, '--json'], { cwd: repo, timeout: 240_000 });
  tarball = join(packDir, (JSON.parse(stdout) as { filename: string }[])[0].filename);
  project = mkdtempSync(join(tmpdir(), 'plangate-user-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-site', version: '1.0.0', type: 'module', private: true }));
  await run('npm', ['install', tarball, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 240_000 });
}, 480_000);

describe('the package', () => {
  it('imports from the checkout (the package names itself)', { timeout: 120_000 }, async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', IMPORT], { cwd: repo });
    expect(stdout.trim()).toBe('function');
  });

  it('imports from a project that installed the npm pack tarball, whose bin runs', { timeout: 120_000 }, async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', IMPORT], { cwd: project });
    expect(stdout.trim()).toBe('function');
    const version = await run(join(project, 'node_modules/.bin/plangate'), ['--version'], { cwd: project });
    expect(version.stdout.trim()).toMatch(/^plangate \d+\.\d+\.\d+/);
    const help = await run(join(project, 'node_modules/.bin/plangate'), ['grant', '--help'], { cwd: project });
    expect(help.stdout).toContain('plangate grant --config');
  });

  it('with dist/ built, npm start and the bin start the demo site', { timeout: 180_000 }, async () => {
    for (const command of [
      ['npm', ['start', '--', '--port', '0', '--ops-port', '0']],
      [process.execPath, ['bin/plangate.js', 'start', '--dev', '--port', '0', '--ops-port', '0']],
    ] as const) {
      const child = spawn(command[0], command[1], { cwd: repo, env: { ...process.env, PLANGATE_DEMO_PORT: '0', REDIS_URL: '' }, detached: true });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        await new Promise<void>((ok, fail) => {
          const timer = setTimeout(() => fail(new Error(`no start banner within 120 s:\n${output}`)), 120_000);
          child.stdout.on('data', () => {
            if (output.includes('plangate is running in front of the demo news site')) {
              clearTimeout(timer);
              ok();
            }
          });
          child.on('exit', () => {
            clearTimeout(timer);
            fail(new Error(`exited before the banner:\n${output}`));
          });
        });
        expect(output).not.toContain('Unknown file extension');
      } finally {
        process.kill(-child.pid!, 'SIGKILL');
      }
    }
  });

  it('a demo port in use is one line on stderr and exit 1, not a stack trace', { timeout: 120_000 }, async () => {
    const busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    const port = (busy.address() as { port: number }).port;
    try {
      const result = await run(process.execPath, ['bin/plangate.js', 'start', '--dev', '--port', '0', '--ops-port', '0'], {
        cwd: repo,
        env: { ...process.env, PLANGATE_DEMO_PORT: String(port), REDIS_URL: '' },
        timeout: 100_000,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n').filter((line) => !line.includes('warning: --dev'));
      expect(lines).toEqual([`plangate: the demo site's port ${port} is in use: stop what listens there, or move the demo with PLANGATE_DEMO_PORT=<port>`]);
    } finally {
      busy.close();
    }
  });

  it('plangate serve with no API keys says so at start', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, ['bin/plangate.js', 'serve', 'config/plangate.yaml', '--dev', '--port', '0'], {
      cwd: repo,
      env: { ...process.env, REDIS_URL: '' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await new Promise<void>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`no warning within 100 s: ${stderr}`)), 100_000);
        child.stderr.on('data', () => {
          if (stderr.includes('declares no apiKeys')) {
            clearTimeout(timer);
            ok();
          }
        });
      });
      expect(stderr).toContain('declares no apiKeys: every request will be refused with 401');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
