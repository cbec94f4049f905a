// The CLI: validate's exit codes, and decide printing the same decision as the API.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway } from './ops/harness.js';
import { HELLO_WORLD, helloWorld, SECRET_KEY, type HelloWorld } from './support/hello-world.js';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string | undefined> = process.env) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

let hw: HelloWorld;
beforeAll(async () => {
  hw = await helloWorld();
});
afterAll(async () => {
  await hw.runtime.close();
});

describe('plangate validate', () => {
  it('exits 0 on a good file', async () => {
    const result = await cli(['validate', HELLO_WORLD], hw.env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: .*hello-world\.yaml \(1 features, 3 plans, 1 surfaces\)/);
  });
  it('exits 1 with file, line, column and key on a bad file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'version: 1\nfeatures: {}\nplans:\n  free:\n    features:\n      nope:\n        enabled: on\nsurfaces: {}\n');
    const result = await cli(['validate', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:6:7`);
    expect(result.stderr).toMatch(/plans\.free\.features\.nope/);
  });
});

describe('config warnings', () => {
  // A metered one-segment route above an unmetered catch-all: loads, with a warning at the route.
  const dir = mkdtempSync(join(tmpdir(), 'plangate-cli-'));
  const file = join(dir, 'shallow.yaml');
  writeFileSync(
    file,
    'version: 1\nfeatures:\n  articles: {}\nplans:\n  anonymous: { assign: anonymous, features: { articles: { enabled: { limit: 3, period: month } } } }\n' +
      'surfaces:\n  article: {}\n  site: {}\ngateway:\n  upstream: http://127.0.0.1:9\n  routes:\n' +
      '    - { path: /articles/*, surface: article, consume: [articles.enabled] }\n    - { path: /**, surface: site }\n' +
      'anonymousIds:\n  keys:\n    - { id: k1, secret: a-test-anonymous-id-secret-of-more-than-32-bytes }\n',
  );
  const warning = `warning: ${file}:12:15  gateway.routes[0].path: '/articles/*' guards one segment only`;

  it('validate prints them with the key path and exits 0', async () => {
    const result = await cli(['validate', file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(warning);
    expect(result.stdout).toMatch(/^ok: .*shallow\.yaml \(1 features, 1 plans, 2 surfaces; 1 warning\)/);
  });

  it('the gateway prints them at start-up and serves', async () => {
    const child = await spawnGateway(['--import', 'tsx', 'src/cli.ts', 'gateway', '--config', file, '--port', '0', '--ops-port', '0', '--no-watch'], {
      env: { ...process.env, PLANGATE_LOG_LEVEL: 'warn' },
    });
    try {
      expect(child.output()).toContain(warning);
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
    }
  });
});

describe('plangate decide', () => {
  it('prints the same decision as the API for the same input', async () => {
    const identity = { userIdentifier: `cli-${Date.now()}@example.com` };
    const offline = await cli(
      ['decide', '--config', HELLO_WORLD, '--surface', 'hello-world', '--user', identity.userIdentifier, '--resource', 'article-1'],
      hw.env,
    );
    expect(offline.code).toBe(0);
    const fromCli = JSON.parse(offline.stdout);
    const fromApi = (
      await request(hw.app)
        .post('/api/v1/surface-decisions')
        .set('Authorization', `Bearer ${SECRET_KEY}`)
        .send({ surfaceSlug: 'hello-world', identity, resource: { id: 'article-1' } })
        .expect(200)
    ).body;
    delete fromCli.eventId;
    delete fromApi.eventId;
    expect(fromCli).toEqual(fromApi);
    expect(fromCli.features.widget.properties.enabled.consumedUnits).toBe(1);
  });
});
