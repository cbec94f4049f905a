// `plangate gateway --workers 2`: two worker processes over one Redis behind one port, started as a
// real child process (the primary) the way an operator runs it. Meters stay exact under a burst that
// lands on both workers, /readyz and /metrics on the primary speak for the host, SIGHUP reloads every
// worker, a worker that dies is replaced, SIGTERM drains the request in flight, and the in-memory
// store is refused with more than one worker.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signedAnonymousId } from '../support/anonymous-ids.js';
import { sendBurst } from '../support/burst.js';
import { childCleanup, getOnce, prepareOps, sample, spawnGateway, until, workflowSource, type GatewayChild } from './harness.js';

const state = childCleanup();
const get = getOnce;

async function startWorkers(scope: string, limit = 3): Promise<{ child: GatewayChild; dir: string }> {
  const setup = await prepareOps(scope, { limit });
  state.upstream = setup.upstream;
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'gateway', '--config', setup.file, '--no-watch', '--workers', '2'];
  state.child = await spawnGateway(args, { env: { ...setup.env, PLANGATE_LOG_LEVEL: 'info' } });
  return { child: state.child, dir: setup.dir };
}

/** The JSON log lines the processes wrote so far. */
function logLines(c: GatewayChild): Record<string, unknown>[] {
  return c
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Child processes with two workers each start in seconds on a busy machine: generous per-test timeouts.
describe('plangate gateway --workers 2 (one Redis)', { timeout: 180_000 }, () => {
  it('a burst of 400 from 40 visitors (10 articles each, limit 3) over both workers grants exactly 3 each; /metrics and /readyz speak for both', async () => {
    const { child: c } = await startWorkers('workers-burst');
    const visitors = Array.from({ length: 40 }, () => signedAnonymousId(randomUUID()));
    const requests = visitors.flatMap((cookie, v) =>
      Array.from({ length: 10 }, (_, i) => ({ url: `${c.gatewayUrl}/articles/v${v}-a${i}`, headers: { cookie: `plangate_anon=${cookie}` } })),
    );
    const { replies } = await sendBurst(requests);
    const byVisitor = new Map<number, number>();
    replies.forEach((reply, i) => {
      expect([200, 402], `${reply.status} ${reply.body.slice(0, 200)}`).toContain(reply.status);
      if (reply.status === 200) byVisitor.set(Math.floor(i / 10), (byVisitor.get(Math.floor(i / 10)) ?? 0) + 1);
    });
    expect([...byVisitor.values()]).toEqual(Array(40).fill(3));
    expect(state.upstream!.seen.filter((s) => s.target.startsWith('/articles/')).length).toBe(120);

    // Both workers took part (each request line names its worker).
    await until(() => logLines(c).filter((l) => l.code === 'request').length >= 400, 'the request lines (flushed every second)', 30_000);
    const workers = new Set(logLines(c).filter((l) => l.code === 'request').map((l) => l.worker));
    expect([...workers].sort()).toEqual([1, 2]);

    // One scrape of the primary sums the workers; readiness asks each of them.
    const metrics = await (await fetch(`${c.opsUrl}/metrics`)).text();
    const requestsTotal =
      sample(metrics, 'plangate_requests_total', { route: '/articles/*', outcome: 'forwarded' }) + sample(metrics, 'plangate_requests_total', { route: '/articles/*', outcome: 'denied' });
    expect(requestsTotal).toBe(400);
    expect(sample(metrics, 'plangate_store_ready')).toBe(1);
    expect(sample(metrics, 'plangate_workers', { state: 'running' })).toBe(2);
    const ready = await fetch(`${c.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: { workers: unknown } }).checks.workers).toEqual({ configured: 2, answering: 2, ready: 2 });
    expect(logLines(c).filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it('SIGHUP to the primary reloads every worker; a killed worker is replaced; SIGTERM drains the request in flight and exits 0', async () => {
    const started = await startWorkers('workers-reload');
    const c = started.child;
    expect(await get(`${c.gatewayUrl}/articles/one`)).toMatchObject({ status: 200, body: expect.stringContaining('"version":"v1"') });

    writeFileSync(join(started.dir, 'article.ts'), workflowSource('v2'));
    c.process.kill('SIGHUP');
    await until(() => logLines(c).some((l) => l.code === 'workers-reload'), 'the primary to report the reload', 30_000);
    expect(logLines(c).find((l) => l.code === 'workers-reload')).toMatchObject({ applied: 2, refused: 0 });
    // Each worker logs its own reload (its lines reach stdout within a second).
    const reloadedWorkers = () => new Set(logLines(c).filter((l) => l.code === 'config-reloaded').map((l) => l.worker));
    await until(() => reloadedWorkers().size === 2, 'both workers to log config-reloaded', 30_000);
    expect(reloadedWorkers()).toEqual(new Set([1, 2]));
    // Fresh connections land on both workers: every answer is the new config's.
    const versions = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`${c.gatewayUrl}/articles/after-${i}`, { cookie: `plangate_anon=${signedAnonymousId(randomUUID())}` })));
    for (const v of versions) expect(v).toMatchObject({ status: 200, body: expect.stringContaining('"version":"v2"') });

    // A worker killed from outside: the primary logs it and starts another; the host keeps serving.
    const first = logLines(c).find((l) => l.code === 'worker-started' && l.worker === 1)!;
    process.kill(first.pid as number, 'SIGKILL');
    await until(() => logLines(c).some((l) => l.code === 'worker-started' && l.worker === 3), 'a replacement worker', 60_000);
    expect(logLines(c).find((l) => l.code === 'worker-exited')).toMatchObject({ worker: 1, signal: 'SIGKILL' });
    await until(async () => (await fetch(`${c.opsUrl}/readyz`)).status === 200, 'readiness with the replacement', 60_000);
    for (let i = 0; i < 6; i++) expect(await get(`${c.gatewayUrl}/slow`)).toMatchObject({ status: 200 });

    state.upstream!.slowMs = 1_500;
    const seenBefore = state.upstream!.seen.length;
    const inFlight = get(`${c.gatewayUrl}/slow`);
    await until(() => state.upstream!.seen.length > seenBefore, 'the slow request to reach the upstream');
    c.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(await get(`${c.gatewayUrl}/articles/late`)).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED|ECONNRESET|socket hang up/) });
    expect(await inFlight).toMatchObject({ status: 200, body: expect.stringContaining('"target":"/slow"') });
    expect(await c.exited).toBe(0);
    expect(logLines(c).filter((l) => l.code === 'worker-exited')).toHaveLength(1);
  });

  it('refuses more than one worker with the in-memory store, saying why and what to do', async () => {
    const setup = await prepareOps('workers-memory', { redisUrl: '""' });
    state.upstream = setup.upstream;
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'gateway', '--config', setup.file, '--no-watch', '--workers', '2'];
    await expect(spawnGateway(args, { env: setup.env })).rejects.toThrow(/server\.workers is 2 but the meters are in memory.*REDIS_URL or store\.redis/s);
    await expect(spawnGateway([...args.slice(0, -2), '--workers', 'two'], { env: setup.env })).rejects.toThrow(/--workers \(PLANGATE_WORKERS\) must be a whole number from 1 to 64, got 'two'/);
  });
});
