// The admin commands as people run them (spawned, on Redis): grant turns a reader premium for the
// API, grants lists it, export and import move it, meters reads and adjusts, forget removes it all;
// decide consumes only with --consume and keeps its stdout JSON; every command has --help.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELP } from '../../src/cli/help.js';
import { ADMIN_CONFIG, ADMIN_KEY, adminStack, PLAIN_SECRET_KEY, storeEnv, type AdminStack } from './harness.js';

const run = promisify(execFile);
const ARTICLES = 'default:feat_articles.enabled';

let stack: AdminStack;
beforeAll(async () => {
  stack = await adminStack('redis', 'cli-admin');
});
afterAll(() => stack?.close());

const cli = (args: string[], env: Record<string, string | undefined> = stack.env) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env, timeout: 120_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const json = (stdout: string) => JSON.parse(stdout) as any;

describe('plangate grant, revoke, grants, meters, forget', () => {
  it('grant makes the reader premium for the running API; revoke takes it back; both are audited on stderr', async () => {
    const user = `cli-${randomUUID()}@example.com`;
    const premium = async () =>
      (await stack.call('POST', '/api/v1/surface-decisions', PLAIN_SECRET_KEY, { surfaceSlug: 'premium', identity: { userIdentifier: user } })).body.features.premium
        .properties.enabled.hasAccess;
    expect(await premium()).toBe(false);
    const granted = await cli(['grant', '--config', ADMIN_CONFIG, '--user', user, '--plan', 'premium', '--until', '2099-03-01', '--note', 'ticket 7']);
    expect(granted.code).toBe(0);
    expect(json(granted.stdout).grant).toMatchObject({ plan: 'premium', expiresAt: '2099-03-01T00:00:00.000Z', note: 'ticket 7', active: true });
    expect(json(granted.stdout).grant.by).toMatch(/^cli:/);
    const audit = granted.stderr.split('\n').filter((l) => l.includes('"admin-action"'));
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0])).toMatchObject({ code: 'admin-action', action: 'grant', identifier: user, plan: 'premium' });
    expect(await premium()).toBe(true);

    const listed = await cli(['grants', '--config', ADMIN_CONFIG, '--user', user]);
    expect(json(listed.stdout).grants).toEqual([expect.objectContaining({ plan: 'premium', active: true })]);

    const revoked = await cli(['revoke', '--config', ADMIN_CONFIG, '--user', user, '--plan', 'premium']);
    expect(json(revoked.stdout)).toEqual({ revoked: true });
    expect(await premium()).toBe(false);
  }, 180_000);

  it('export writes JSON lines that import reads back (into another prefix)', async () => {
    const user = `cli-export-${randomUUID()}`;
    await stack.runtime.engine.admin.grant({ userType: 'authenticated', identifier: user }, { plan: 'gift' }, 'test');
    const exported = await cli(['grants', '--config', ADMIN_CONFIG, '--export']);
    expect(exported.code, exported.stderr).toBe(0);
    const mine = exported.stdout.split('\n').filter((line) => line.includes(user));
    expect(mine.map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ userType: 'authenticated', identifier: user, plan: 'gift', by: 'test' })]);
    const file = join(mkdtempSync(join(tmpdir(), 'plangate-grants-')), 'grants.jsonl');
    writeFileSync(file, `${mine.join('\n')}\n`);
    const otherEnv = { ...stack.env, ...storeEnv('redis', `cli-import-${randomUUID()}`) };
    const imported = await cli(['grants', '--config', ADMIN_CONFIG, '--import', file], otherEnv);
    expect(json(imported.stdout)).toEqual({ imported: 1 });
    const listed = await cli(['grants', '--config', ADMIN_CONFIG, '--user', user], otherEnv);
    expect(json(listed.stdout).grants).toEqual([expect.objectContaining({ plan: 'gift', by: 'test' })]);
  }, 180_000);

  it('meters reads and adjusts; forget deletes everything; bad input is one clear line', async () => {
    const user = `cli-meters-${randomUUID()}`;
    await stack.call('POST', '/api/v1/counter-updates', PLAIN_SECRET_KEY, { identity: { userIdentifier: user }, counterId: ARTICLES, update: 4 });
    const read = await cli(['meters', '--config', ADMIN_CONFIG, '--user', user]);
    expect(json(read.stdout).meters.find((m: { counterId: string }) => m.counterId === ARTICLES).periods[0].usage).toBe(4);
    const adjusted = await cli(['meters', '--config', ADMIN_CONFIG, '--user', user, '--adjust', `${ARTICLES}=-3`]);
    expect(json(adjusted.stdout).meter.periods[0].usage).toBe(1);
    const forgotten = await cli(['forget', '--config', ADMIN_CONFIG, '--user', user]);
    expect(json(forgotten.stdout).keysDeleted).toBeGreaterThanOrEqual(1);
    const after = await stack.call('GET', `/api/v1/admin/meters?userIdentifier=${user}`, ADMIN_KEY);
    expect(after.body.meters.every((m: { periods: { usage: number }[] }) => m.periods.every((p) => p.usage === 0))).toBe(true);

    const [noVisitor, unknown] = await Promise.all([
      cli(['grant', '--config', ADMIN_CONFIG, '--plan', 'premium']),
      cli(['grant', '--config', ADMIN_CONFIG, '--user', user, '--plan', 'platinum']),
    ]);
    expect(noVisitor.code).toBe(2);
    expect(noVisitor.stderr.trim().split('\n')).toEqual(['grant needs exactly one of --user <id>, --anonymous <id>, --jwt <token> (see plangate grant --help)']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('plangate grant: unknown-plan: plan: unknown plan "platinum"');
  }, 180_000);
});

describe('plangate decide', () => {
  it('consumes nothing unless --consume, and stdout is the decision JSON alone', async () => {
    const user = `cli-decide-${randomUUID()}`;
    const args = ['decide', '--config', ADMIN_CONFIG, '--surface', 'read', '--user', user, '--resource', 'a1'];
    const consume = async (extra: string[]) => {
      const result = await cli([...args, ...extra]);
      expect(result.code).toBe(0);
      return json(result.stdout);
    };
    await stack.runtime.engine.admin.adjustMeter({ userType: 'authenticated', identifier: user }, ARTICLES, 2, 'test');
    const dry = await consume([]);
    // The decision says what consuming would do (3 of 10), and records none of it.
    expect(dry.features.articles.properties.enabled).toMatchObject({ consumedUnits: 3, consumedInRequest: true });
    const meters = async () =>
      (await stack.call('GET', `/api/v1/admin/meters?userIdentifier=${user}`, ADMIN_KEY)).body.meters.find((m: { counterId: string }) => m.counterId === ARTICLES)
        .periods[0].usage;
    expect(await meters()).toBe(2);
    await consume(['--consume']);
    expect(await meters()).toBe(3);
  }, 180_000);
});

describe('help and version', () => {
  it.each(Object.keys(HELP))('plangate %s --help prints its own help and exits 0', { timeout: 120_000 }, async (command) => {
    const result = await cli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(HELP[command]);
    expect(result.stdout).toContain(`plangate ${command}`);
  });

  it('--version prints the package version', { timeout: 120_000 }, async () => {
    const result = await cli(['--version']);
    expect(result.stdout.trim()).toMatch(/^plangate \d+\.\d+\.\d+/);
  });
});
