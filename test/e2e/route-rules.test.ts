// The route rules have one owner (src/config/route-rules.ts): `plangate validate`, start-up and reload
// refuse exactly the same configs, with the same problems at the same places. Each fixture breaks one
// rule; the first two are the configs `validate` used to pass while the gateway refused them.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGateway, type RunningServers } from '../../src/cli/run-gateway.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';

const run = promisify(execFile);

/** A whole config whose only routes are `routes` (YAML list items, indented by four). */
const configWith = (routes: string) => `version: 1
anonymousIds:
  keys:
    - { id: ${TEST_ANONYMOUS_ID_KEY.id}, secret: ${TEST_ANONYMOUS_ID_KEY.secret} }
features:
  articles: {}
plans:
  anyone: { assign: anonymous, features: { articles: { enabled: on } } }
surfaces:
  site: {}
server:
  ops: { host: 127.0.0.1, port: 0 }
gateway:
  upstream: http://127.0.0.1:9
  listen: { host: 127.0.0.1, port: 0 }
  routes:
${routes}`;

const catchAll = '    - { path: /**, surface: site }\n';

/** [name, routes, the key path the refusal names]. */
const FIXTURES: [string, string, string][] = [
  ['a partial wildcard', `    - { path: /stat*ic/**, bypass: true }\n${catchAll}`, 'gateway.routes[0].path'],
  [
    'a redirect to another host',
    `    - { path: /a, surface: site, deny: { action: redirect, url: //evil.example/x } }\n${catchAll}`,
    'gateway.routes[0].deny.url',
  ],
  ['** before the end', `    - { path: /a/**/b, surface: site }\n${catchAll}`, 'gateway.routes[0].path'],
  ['an encoded slash in a pattern', `    - { path: /a%2Fb, surface: site }\n${catchAll}`, 'gateway.routes[0].path'],
  ['neither surface nor bypass', `    - { path: /a }\n${catchAll}`, 'gateway.routes[0]'],
  ['surface and bypass', `    - { path: /a, surface: site, bypass: true }\n${catchAll}`, 'gateway.routes[0]'],
  ['a bypass route that consumes', `    - { path: /a, bypass: true, consume: [articles.enabled] }\n${catchAll}`, 'gateway.routes[0]'],
  ['a redirect without a url', `    - { path: /a, surface: site, deny: { action: redirect } }\n${catchAll}`, 'gateway.routes[0].deny.url'],
  [
    'a redirect with a 4xx status',
    `    - { path: /a, surface: site, deny: { action: redirect, url: /x, status: 402 } }\n${catchAll}`,
    'gateway.routes[0].deny.status',
  ],
  ['a url on a paywall', `    - { path: /a, surface: site, deny: { action: paywall, url: /x } }\n${catchAll}`, 'gateway.routes[0].deny'],
  ['a paywall with a 3xx status', `    - { path: /a, surface: site, deny: { action: paywall, status: 302 } }\n${catchAll}`, 'gateway.routes[0].deny.status'],
  ['no catch-all', '    - { path: /a, surface: site }\n', 'gateway.routes[0].path'],
];

const dir = mkdtempSync(join(tmpdir(), 'plangate-route-rules-'));
const GOOD = configWith(catchAll);

/** `file:line:col  path: message` lines, as every entry point prints them. */
const problemLines = (text: string) => text.split('\n').filter((line) => line.startsWith(`${dir}/`));

/** `plangate validate` over several files (one process: each costs a second or more to start). */
async function validate(files: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'validate', ...files], { timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** What `plangate gateway` does with the file: load it, then start the gateway, ops port and reloader. */
async function startUp(file: string): Promise<string> {
  try {
    const running = await runGateway({ model: await loadConfig(file, { env: {} }), logger: createLogger({ level: 'silent' }), watch: false });
    await running.close();
    return 'started';
  } catch (error) {
    return error instanceof ConfigError ? error.message : `not a config error: ${(error as Error).message}`;
  }
}

let reloadFile: string;
let running: RunningServers;
beforeAll(async () => {
  reloadFile = join(dir, 'running.yaml');
  writeFileSync(reloadFile, GOOD);
  running = await runGateway({ model: await loadConfig(reloadFile, { env: {} }), env: {}, logger: createLogger({ level: 'silent' }), watch: false });
});
afterAll(() => running?.close());

describe('validate, start-up and reload refuse the same configs', () => {
  const good = join(dir, 'good.yaml');
  const files = FIXTURES.map((_, i) => join(dir, `fixture-${i}.yaml`));
  let validated: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    writeFileSync(good, GOOD);
    FIXTURES.forEach(([, routes], i) => writeFileSync(files[i], configWith(routes)));
    validated = await validate([good, ...files]);
  }, 60_000);

  it('accepts the sound config everywhere', async () => {
    expect(validated.stdout.split('\n')).toContain(`ok: ${good} (1 features, 1 plans, 1 surfaces)`);
    const file = good;
    expect(await startUp(file)).toBe('started');
    writeFileSync(reloadFile, GOOD);
    expect(await running.reloader.reload('test')).toEqual({ ok: true });
  });

  it.each(FIXTURES.map(([name, , path], i) => ({ name, path, i })))('$name → $path', async ({ path, i }) => {
    const file = files[i];
    expect(validated.code).toBe(1);
    expect(validated.stdout).not.toContain(file);
    const problems = problemLines(validated.stderr).filter((line) => line.startsWith(`${file}:`));
    expect(problems.some((line) => line.includes(`  ${path}: `))).toBe(true);

    expect(problemLines(await startUp(file))).toEqual(problems);

    writeFileSync(reloadFile, configWith(FIXTURES[i][1]));
    const reloaded = await running.reloader.reload('test');
    expect(reloaded.ok).toBe(false);
    // The reload names its own file; the problems are the same.
    const mine = (line: string) => line.replace(reloadFile, file);
    expect(problemLines(reloaded.ok ? '' : reloaded.reason).map(mine)).toEqual(problems);
  });
});
