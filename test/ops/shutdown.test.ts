// The CLI's `gateway` command as a child process: SIGHUP reloads, SIGTERM stops accepting, lets the
// request in flight finish (an upstream that answers slowly), closes the store and exits 0; past
// the shutdown deadline the remaining connections are closed and it still exits 0.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childCleanup, getOnce, prepareOps, spawnGateway, until, workflowSource, type GatewayChild } from './harness.js';

const state = childCleanup();
const get = getOnce;

async function startCli(scope: string, extraArgs: string[] = []): Promise<{ child: GatewayChild; dir: string }> {
  const setup = await prepareOps(scope);
  state.upstream = setup.upstream;
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'gateway', '--config', setup.file, '--no-watch', ...extraArgs];
  return { child: await spawnGateway(args, { env: { ...setup.env, PLANGATE_LOG_LEVEL: 'warn' } }), dir: setup.dir };
}

describe('plangate gateway (child process)', () => {
  it('reloads on SIGHUP, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const started = await startCli('shutdown-drain');
    state.child = started.child;
    const c = state.child!;
    expect(await get(`${c.gatewayUrl}/articles/one`)).toMatchObject({ status: 200, body: expect.stringContaining('"version":"v1"') });

    writeFileSync(join(started.dir, 'article.ts'), workflowSource('v2'));
    c.process.kill('SIGHUP');
    const reloadDeadline = Date.now() + 10_000;
    let answer = await get(`${c.gatewayUrl}/articles/one`);
    while (!('body' in answer && answer.body.includes('"v2"')) && Date.now() < reloadDeadline) answer = await get(`${c.gatewayUrl}/articles/one`);
    expect(answer).toMatchObject({ status: 200, body: expect.stringContaining('"version":"v2"') });

    state.upstream!.slowMs = 1_500;
    const seenBefore = state.upstream!.seen.length;
    const inFlight = get(`${c.gatewayUrl}/slow`);
    await until(() => state.upstream!.seen.length > seenBefore, 'the slow request to reach the upstream');
    c.process.kill('SIGTERM');
    // Stops accepting: the ops port says not ready (or is already gone), new connections are refused.
    await new Promise((r) => setTimeout(r, 200));
    const late = await get(`${c.gatewayUrl}/articles/one`);
    expect(late).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/) });
    expect(await inFlight).toMatchObject({ status: 200, body: expect.stringContaining('"target":"/slow"') });
    expect(await c.exited).toBe(0);
  });

  it('closes what is still open at the shutdown deadline and exits 0', async () => {
    state.child = (await startCli('shutdown-deadline', ['--shutdown-timeout', '200'])).child;
    const c = state.child!;
    state.upstream!.slowMs = 20_000;
    const seenBefore = state.upstream!.seen.length;
    const inFlight = get(`${c.gatewayUrl}/slow`);
    await until(() => state.upstream!.seen.length > seenBefore, 'the slow request to reach the upstream');
    const signalled = Date.now();
    c.process.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(await inFlight).toHaveProperty('error');
    expect(c.output()).toMatch(/"code":"shutdown-deadline"/);
  });
});
