// RunningGateway.swap: a reload switches to the new model and engine between requests. Requests in
// flight finish on the pipeline they started on, a load running across the swap sees no failure, and
// a change to gateway.listen or gateway.upstream is refused while the old config keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/ops/runtime.js';
import { behaveConfig } from './behave-config.js';
import { loadTestRuntime, startStack, type Stack } from './harness.js';

let stack: Stack;
const extra: Runtime[] = [];
beforeAll(async () => {
  // A generous header timeout: the upstream holds one response across the swap on purpose.
  stack = await startStack(behaveConfig('', '', 10_000), 'gw-reload');
});
afterAll(async () => {
  await stack?.close();
  for (const runtime of extra) await runtime.close();
});

async function runtimeFor(gatewayExtra: string, upstream = stack.upstream.url): Promise<Runtime> {
  const runtime = await loadTestRuntime(behaveConfig(gatewayExtra, '', 10_000), 'gw-reload', {
    PLANGATE_UPSTREAM: upstream,
    PLANGATE_TEST_JWT_PUBLIC_KEY: stack.keys.publicKeyFile,
  });
  extra.push(runtime);
  return runtime;
}

function prefixes(path: string): string[] {
  const seen = stack.upstream.seen.findLast((s) => s.target === path)!;
  return [...new Set(Object.keys(seen.headers).filter((h) => h.endsWith('-plans')))];
}

describe('swap', () => {
  it('takes effect between requests; a request in flight finishes on the old pipeline; a load across it sees no failure', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    stack.upstream.handlers.set('/held', (_req, res) => {
      void held.then(() => res.end('held'));
      return true;
    });
    const inFlight = fetch(`${stack.gateway.url}/held`);
    while (!stack.upstream.seen.some((s) => s.target === '/held')) await new Promise((r) => setTimeout(r, 5));

    let stop = false;
    const statuses: number[] = [];
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; !stop; i++) statuses.push((await fetch(`${stack.gateway.url}/load/${worker}/${i}`)).status);
      }),
    );
    try {
      const next = await runtimeFor('  headerPrefix: x-site-\n');
      while (statuses.length < 20) await new Promise((r) => setTimeout(r, 5));
      stack.gateway.swap({ model: next.model, engine: next.engine });
      const afterSwap = statuses.length;
      while (statuses.length < afterSwap + 20) await new Promise((r) => setTimeout(r, 5));
    } finally {
      stop = true;
      await load;
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    release();
    const old = await inFlight;
    expect([old.status, await old.text()]).toEqual([200, 'held']);
    expect(prefixes('/held')).toEqual(['x-plangate-plans']); // decided and forwarded before the swap
    await fetch(`${stack.gateway.url}/after`);
    expect(prefixes('/after')).toEqual(['x-site-plans']);
  });

  it('refuses a change to gateway.upstream or gateway.listen, and the running config keeps serving', async () => {
    const before = await runtimeFor('');
    stack.gateway.swap({ model: before.model, engine: before.engine });
    const otherUpstream = await runtimeFor('', 'http://127.0.0.1:9');
    expect(() => stack.gateway.swap({ model: otherUpstream.model, engine: otherUpstream.engine })).toThrow(
      /gateway\.upstream changed: the upstream is fixed when the proxy starts; restart plangate to apply it/,
    );
    const otherListen = await runtimeFor('  listen: { host: 127.0.0.1, port: 18099 }\n');
    expect(() => stack.gateway.swap({ model: otherListen.model, engine: otherListen.engine })).toThrow(
      /gateway\.listen changed: listener addresses are not reloadable/,
    );
    expect((await fetch(`${stack.gateway.url}/still`)).status).toBe(200);
    expect(prefixes('/still')).toEqual(['x-plangate-plans']);
  });
});
