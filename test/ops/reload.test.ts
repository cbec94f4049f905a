// Config reload through the real listener: valid changes (a workflow file, a plan limit) take
// effect while concurrent requests run with zero failures; invalid configs and listener or store
// changes are refused with a message while the old config keeps answering; file changes reload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { opsYaml, sample, SECRET_API_KEY, startOpsStack, workflowSource, type OpsStack } from './harness.js';

let stack: OpsStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

interface Answer {
  status: number;
  version?: string;
  articles?: string;
}

async function ask(stack: OpsStack, path = '/articles/one'): Promise<Answer> {
  try {
    const res = await fetch(`${stack.running.gateway.url}${path}`);
    const body = (await res.json()) as { surface?: { version?: string }; articles?: string };
    return { status: res.status, version: body.surface?.version, articles: body.articles ?? undefined };
  } catch (error) {
    return { status: -1, articles: (error as Error).message };
  }
}

/** Workers sending requests back to back until `during` settles; every answer, per worker, in order. */
async function underLoad<T>(stack: OpsStack, during: () => Promise<T>, workers = 8): Promise<{ result: T; answers: Answer[][] }> {
  let done = false;
  const answers: Answer[][] = Array.from({ length: workers }, () => []);
  const loops = answers.map(async (list) => {
    while (!done) list.push(await ask(stack));
    list.push(await ask(stack)); // one more, started after the reload finished
  });
  // Let the load build up before the change.
  await new Promise((r) => setTimeout(r, 150));
  const result = await during();
  done = true;
  await Promise.all(loops);
  return { result, answers };
}

describe('reload', () => {
  it('a changed workflow file takes effect under load with zero failures', async () => {
    stack = await startOpsStack('reload-workflow');
    expect((await ask(stack)).version).toBe('v1');
    const s = stack;
    const { result, answers } = await underLoad(s, async () => {
      writeFileSync(join(s.dir, 'article.ts'), workflowSource('v2'));
      return s.running.reloader.reload();
    });
    expect(result).toEqual({ ok: true });
    const all = answers.flat();
    expect(all.length).toBeGreaterThan(answers.length * 2);
    expect(all.filter((a) => a.status !== 200)).toEqual([]);
    for (const list of answers) {
      // Each worker sees v1 then v2, never back: the swap is atomic.
      const versions = list.map((a) => a.version).join(',');
      expect(versions).toMatch(/^(v1,)*(v2,)*v2$/);
    }
    const metrics = await (await fetch(`${s.running.ops.url}/metrics`)).text();
    expect(sample(metrics, 'plangate_config_reloads_total', { result: 'applied' })).toBe(1);
  });

  it('a changed plan limit in the YAML takes effect under load with zero failures', async () => {
    stack = await startOpsStack('reload-limit', { limit: 1000 });
    expect((await ask(stack)).articles).toMatch(/limit=1000/);
    const s = stack;
    const { result, answers } = await underLoad(s, async () => {
      writeFileSync(s.file, opsYaml({ limit: 500 }));
      return s.running.reloader.reload();
    });
    expect(result).toEqual({ ok: true });
    expect(answers.flat().filter((a) => a.status !== 200)).toEqual([]);
    for (const list of answers) {
      expect(list.map((a) => /limit=(\d+)/.exec(a.articles ?? '')?.[1]).join(',')).toMatch(/^(1000,)*(500,)*500$/);
    }
  });

  it('the decision API mounted on the gateway port answers with the reloaded config too', async () => {
    stack = await startOpsStack('reload-api', { mountPath: '/plangate-api' });
    expect(stack.running.api).toBeUndefined();
    // A fresh visitor's remaining units equal the limit (a dry run consumes nothing).
    const limit = async () => {
      const res = await fetch(`${stack!.running.gateway.url}/plangate-api/api/v1/surface-decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRET_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ surfaceSlug: 'article', identity: { anonymousIdentifier: '3f0e4a52-9d7b-4c43-8a8e-0d6f1c2b5a77' }, dryRun: true }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { features: { articles: { properties: { enabled: { remainingUnits?: number } } } } };
      return body.features.articles.properties.enabled.remainingUnits;
    };
    expect(await limit()).toBe(1000);
    writeFileSync(stack.file, opsYaml({ mountPath: '/plangate-api', limit: 250 }));
    expect(await stack.running.reloader.reload()).toEqual({ ok: true });
    expect(await limit()).toBe(250);
    expect((await ask(stack)).articles).toMatch(/limit=250/);
  });

  it('server.maxPendingDecisions reloads; the count of decisions in progress carries over', async () => {
    stack = await startOpsStack('reload-pending', { maxPendingDecisions: 100 });
    const load = stack.running.runtime.load;
    writeFileSync(stack.file, opsYaml({ maxPendingDecisions: 7 }));
    expect(await stack.running.reloader.reload()).toEqual({ ok: true });
    expect(stack.running.runtime.model.server.maxPendingDecisions).toBe(7);
    expect(stack.running.runtime.load).toBe(load);
  });

  it('a config that loads with a warning is applied, and the warning logged with its key path', async () => {
    stack = await startOpsStack('reload-warning');
    // The ops config meters /articles/* above an unmetered catch-all: the route warning.
    writeFileSync(stack.file, opsYaml({ limit: 500 }));
    expect(await stack.running.reloader.reload()).toEqual({ ok: true });
    const warning = stack.logLines().find((l) => l.code === 'config-warning');
    expect(warning).toMatchObject({
      level: 40,
      warning: expect.stringMatching(/plangate\.yaml:\d+:\d+\s+gateway\.routes\[0\]\.path: '\/articles\/\*' guards one segment only/),
    });
  });

  it('an invalid config is refused, logged and counted; the old config keeps answering', async () => {
    stack = await startOpsStack('reload-invalid');
    writeFileSync(stack.file, opsYaml().replace('limit: 1000', 'limit: lots'));
    const outcome = await stack.running.reloader.reload();
    expect(outcome.ok).toBe(false);
    expect(outcome.ok === false && outcome.reason).toMatch(/plangate\.yaml:\d+:\d+\s+plans\.anonymous\.features\.articles\.enabled/);
    expect(await ask(stack)).toMatchObject({ status: 200, version: 'v1', articles: expect.stringMatching(/limit=1000/) });
    const refused = stack.logLines().find((l) => l.code === 'config-reload-refused');
    expect(refused).toMatchObject({ level: 50, reason: expect.stringContaining('invalid config') });
    const metrics = await (await fetch(`${stack.running.ops.url}/metrics`)).text();
    expect(sample(metrics, 'plangate_config_reloads_total', { result: 'refused' })).toBe(1);
    expect(sample(metrics, 'plangate_config_reloads_total', { result: 'applied' })).toBe(0);
  });

  it('a workflow that no longer loads is refused, and the old workflow keeps answering', async () => {
    stack = await startOpsStack('reload-bad-workflow');
    writeFileSync(join(stack.dir, 'article.ts'), 'export const notDefault = 1;\n');
    const outcome = await stack.running.reloader.reload();
    expect(outcome.ok === false && outcome.reason).toMatch(/no default export/);
    expect(await ask(stack)).toMatchObject({ status: 200, version: 'v1' });
  });

  it.each([
    [
      'gateway.listen',
      (y: string) => y.replace('listen: { host: 127.0.0.1, port: 0 }', 'listen: { host: 127.0.0.1, port: 18080 }'),
      /gateway\.listen changed: listener addresses are not reloadable; restart plangate/,
    ],
    ['gateway.upstream', (y: string) => y.replace('upstream: ${UPSTREAM}', 'upstream: http://127.0.0.1:9'), /gateway\.upstream changed/],
    ['server.ops', (y: string) => y.replace('ops: { host: 127.0.0.1, port: 0 }', 'ops: { host: 0.0.0.0, port: 0 }'), /server\.ops changed: listener addresses/],
    ['store', (y: string) => y.replace('commandTimeoutMs: 80', 'commandTimeoutMs: 90'), /store changed: the store connection is not reloadable/],
  ])('a change to %s is refused with a message', async (_what, edit, message) => {
    stack = await startOpsStack(`reload-fixed-${_what}`);
    writeFileSync(stack.file, edit(opsYaml()).replace('limit: 1000', 'limit: 7'));
    const outcome = await stack.running.reloader.reload();
    expect(outcome.ok === false && outcome.reason).toMatch(message);
    expect((await ask(stack)).articles).toMatch(/limit=1000/);
  });

  it('reloads by itself when a watched file changes (debounced)', async () => {
    stack = await startOpsStack('reload-watch', { watch: true });
    expect((await ask(stack)).version).toBe('v1');
    // A burst of writes, as editors do: one reload after the quiet period.
    for (const v of ['v2', 'v3', 'v4']) writeFileSync(join(stack.dir, 'article.ts'), workflowSource(v));
    const deadline = Date.now() + 10_000;
    let answer = await ask(stack);
    while (answer.version !== 'v4' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await ask(stack);
    }
    expect(answer).toMatchObject({ status: 200, version: 'v4' });
    await new Promise((r) => setTimeout(r, 400));
    const metrics = await (await fetch(`${stack.running.ops.url}/metrics`)).text();
    expect(sample(metrics, 'plangate_config_reloads_total', { result: 'applied' })).toBe(1);
  });
});
