// Workflows (docs/workflows.md): the time budget, handle revocation, degraded decisions, components in
// parallel, and components skipped under a blocking `http.body`. The fixture's budget is 30 ms.
import type { EventCode } from '../../../src/events.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Revocation, RevokedHandleError, runWorkflow } from '../../../src/engine/workflows/run.js';
import type { Runtime } from '../../../src/ops/runtime.js';
import { loadFixture } from '../../fixtures/engine/harness.js';

// Liveness bound for waiting on a workflow that outlives its decision: far above its 120 ms sleep.
const LIVENESS_MS = 3_000;

describe('runWorkflow', () => {
  const options = () => ({ file: 'wf.ts', kind: 'surface', timeoutMs: 30, revocation: new Revocation() });

  it('returns the value of a workflow that finishes in time, then revokes its handles', async () => {
    const opts = options();
    expect(await runWorkflow(async (n: number) => n * 2, 21, opts)).toEqual({ ok: true, value: 42 });
    expect(opts.revocation.revoked).toBe(true);
  });

  it('turns a synchronous throw into workflow-error and revokes the handles', async () => {
    const opts = options();
    const outcome = await runWorkflow(
      () => {
        throw new Error('sync');
      },
      undefined,
      opts,
    );
    expect(outcome).toEqual({ ok: false, code: 'workflow-error' });
    expect(opts.revocation.revoked).toBe(true);
    expect(() => opts.revocation.check()).toThrow(RevokedHandleError);
  });

  it('stops waiting at the budget and revokes the handles', async () => {
    const opts = options();
    // A workflow that never settles: the budget alone ends the wait, however starved the machine
    // (a workflow sleeping a few hundred ms could win the race when the process hardly ran).
    const outcome = await runWorkflow(() => new Promise(() => {}), undefined, opts);
    expect(outcome).toEqual({ ok: false, code: 'workflow-timeout' });
    expect(opts.revocation.revoked).toBe(true);
  });

  it('the process being busy with other work does not spend the budget (issue 13)', async () => {
    const opts = options();
    // From the check phase, as after a burst read by the poll phase: the budget's timer comes due
    // while the process works, and runs before what the workflow waits for is delivered.
    await new Promise((r) => setImmediate(r));
    const outcome = runWorkflow(() => new Promise((resolve) => setImmediate(() => resolve('done'))), undefined, opts);
    busyFor(200);
    expect(await outcome).toEqual({ ok: true, value: 'done' });
  });

  it('time in the workflow’s meter calls is the store’s to bound, not the budget’s', async () => {
    const opts = options();
    const outcome = await runWorkflow(
      async () => {
        await opts.revocation.inStore(() => new Promise((resolve) => setTimeout(resolve, 150)));
        return 'consumed';
      },
      undefined,
      opts,
    );
    expect(outcome).toEqual({ ok: true, value: 'consumed' });
  });

  it('time outside meter calls still counts: waiting after a meter call runs the budget out', async () => {
    const opts = options();
    const outcome = await runWorkflow(
      async () => {
        await opts.revocation.inStore(() => new Promise((resolve) => setTimeout(resolve, 50)));
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
      undefined,
      opts,
    );
    expect(outcome).toEqual({ ok: false, code: 'workflow-timeout' });
  });
});

/** Keeps the event loop busy, as a burst of requests being read does. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('workflows in decisions', () => {
  let runtime: Runtime;
  const logLines: Record<string, unknown>[] = [];
  let visitor = 0;
  const decideFor = (surfaceSlug: string, identifier = `wf-visitor-${++visitor}`) =>
    runtime.engine.decide({ surfaceSlug, identity: { anonymousIdentifier: identifier }, trusted: false });
  const count = (code: EventCode) => runtime.engine.eventCounts().get(code) ?? 0;

  beforeAll(async () => {
    runtime = await loadFixture('workflows.yaml', { logLines });
  });
  afterAll(() => runtime.close());

  function expectDegradedButComplete(decision: Awaited<ReturnType<typeof decideFor>>['decision']) {
    expect(decision.status).toBe('success');
    expect(decision.degraded).toBe(true);
    expect(decision.surfaceBehavior).toEqual({});
    expect(decision.componentsSkipped).toBe(false);
    expect(Object.keys(decision.features.widget.properties)).toEqual(['enabled', 'premium']);
  }

  it('consume() and incrementCounter() refuse more units than one store call may carry, and record nothing', async () => {
    const identifier = `oversized-${++visitor}`;
    const { decision } = await decideFor('oversized-units', identifier);
    expect(decision.surfaceBehavior.properties).toEqual({
      consume: 'units must be a whole number from 1 to 1000000, got 1000001',
      incrementCounter: `units must be a whole number from 1 to 1000000, got ${Number.MAX_SAFE_INTEGER}`,
    });
    expect((await decideFor('peek', identifier)).decision.features.widget.properties.enabled).toMatchObject({ consumedUnits: 0 });
  });

  it('a throwing surface workflow degrades the decision; the error is logged and counted', async () => {
    const before = count('workflow-error');
    const { decision, denied } = await decideFor('throws');
    expectDegradedButComplete(decision);
    expect(denied).toBe(false);
    expect(count('workflow-error')).toBe(before + 1);
    expect(logLines).toContainEqual(
      expect.objectContaining({ code: 'workflow-error', kind: 'surface', workflow: expect.stringMatching(/throws\.ts$/), error: 'the operator code broke' }),
    );
  });

  it('an overrunning surface workflow degrades the decision; the timeout is logged and counted', async () => {
    const before = count('workflow-timeout');
    const { decision } = await decideFor('overruns');
    expectDegradedButComplete(decision);
    expect(count('workflow-timeout')).toBe(before + 1);
    expect(logLines).toContainEqual(expect.objectContaining({ code: 'workflow-timeout', timeoutMs: 30, workflow: expect.stringMatching(/overruns\.ts$/) }));
  });

  /** What a workflow's consume() that outlived its decision did, once it has settled (the fixtures leave it in a global). */
  async function lateOutcome(global: string, identifier: string): Promise<string> {
    const outcomes = () => (globalThis as Record<string, unknown>)[global] as Map<string, string> | undefined;
    await vi.waitFor(() => expect(outcomes()?.get(identifier)).toBeDefined(), { timeout: LIVENESS_MS, interval: 20 });
    return outcomes()!.get(identifier)!;
  }
  const storedUnits = async (identifier: string) => (await decideFor('peek', identifier)).decision.features.widget.properties.enabled;

  it('a consume() after the budget is rejected and records nothing', async () => {
    const identifier = 'late-consumer';
    const { decision } = await decideFor('late-consume', identifier);
    expect(decision.degraded).toBe(true);
    expect(await lateOutcome('__plangateLateConsume', identifier)).toBe('rejected: RevokedHandleError');
    // A later decision reads the counter from the store: untouched.
    expect(await storedUnits(identifier)).toMatchObject({ hasAccess: true, consumedUnits: 0, remainingUnits: 5 });
  });

  it('a consume() left behind by a workflow that has returned is rejected and records nothing', async () => {
    const identifier = 'lingering-consumer';
    const { decision } = await decideFor('lingers', identifier);
    expect(decision.degraded).toBeUndefined();
    expect(decision.surfaceBehavior).toEqual({ properties: { returned: true } });
    expect(await lateOutcome('__plangateLingering', identifier)).toBe('rejected: RevokedHandleError');
    expect(await storedUnits(identifier)).toMatchObject({ consumedUnits: 0, remainingUnits: 5 });
  });

  it('runs components in parallel with the surface properties and reports them with their selector', async () => {
    const identifier = 'component-visitor';
    const { decision } = await decideFor('with-components', identifier);
    expect(decision.degraded).toBeUndefined();
    expect(decision.surfaceBehavior).toEqual({ properties: { greeting: `Hello, ${identifier}` } });
    expect(decision.componentsSkipped).toBe(false);
    const content = { append: [{ type: 'text', content: 'hi' }] };
    expect(decision.componentBehaviors).toEqual({
      first: { properties: { saw: `Hello, ${identifier}` }, content, metadata: { cssSelector: '#first' } },
      second: { properties: { saw: `Hello, ${identifier}` }, content, metadata: { cssSelector: '.second > p' } },
      static: { metadata: { cssSelector: 'aside' } },
    });
    // In declaration order.
    expect(Object.keys(decision.componentBehaviors)).toEqual(['first', 'second', 'static']);
  });

  it('a surface behavior with http.body skips the components', async () => {
    const before = count('workflow-error');
    const { decision } = await decideFor('blocks');
    expect(decision.surfaceBehavior).toEqual({ properties: { blocked: true }, http: { status: 402, body: 'Subscribe to read on' } });
    expect(decision.componentsSkipped).toBe(true);
    expect(decision.componentBehaviors).toEqual({});
    expect(decision.degraded).toBeUndefined();
    // Its component (a throwing workflow) never ran.
    expect(count('workflow-error')).toBe(before);
  });
});
