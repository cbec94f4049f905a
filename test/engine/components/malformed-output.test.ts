// Workflow output the wire format does not allow (docs/components.md "Checking workflow output"): the
// engine drops it, marks the decision degraded, logs it with its key paths and counts it; what was
// well-formed stays. The API and the gateway serve this decision (test/api/malformed-output.test.ts,
// test/gateway/components/malformed-output.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../../src/ops/runtime.js';
import { loadFixture } from '../../fixtures/engine/harness.js';

describe('malformed workflow output', () => {
  let runtime: Runtime;
  const logLines: Record<string, unknown>[] = [];
  const decide = (name: string) =>
    runtime.engine.decide({ surfaceSlug: 'malformed', identity: { anonymousIdentifier: `malformed-${name}` }, trusted: false, resource: { id: `/cases/${name}` } });
  const count = () => runtime.engine.eventCounts().get('workflow-output-malformed') ?? 0;
  const fine = { properties: { case: 'x' }, content: { before: [{ type: 'html', content: '<b>fine</b>' }] }, metadata: { cssSelector: 'article' } };

  beforeAll(async () => {
    runtime = await loadFixture('workflows.yaml', { logLines });
  });
  afterAll(() => runtime.close());

  it.each([
    ['add-headers', 'surfaceBehavior.http.addHeaders'],
    ['status', 'surfaceBehavior.http.status'],
    ['http-string', 'surfaceBehavior.http'],
    ['header-value', 'surfaceBehavior.http.headers.x-a'],
  ])('http %s: dropped (so a body cannot skip the components), degraded, logged at %s and counted', async (name, path) => {
    const before = count();
    const { decision } = await decide(name);
    expect(decision.degraded).toBe(true);
    expect(decision.surfaceBehavior).toEqual({ properties: { case: name } });
    expect(decision.componentsSkipped).toBe(false);
    expect(decision.componentBehaviors.teaser).toEqual({ ...fine, properties: { case: name } });
    expect(count()).toBe(before + 1);
    const line = logLines.findLast((l) => l.code === 'workflow-output-malformed');
    expect(line).toMatchObject({ level: 50, surface: 'malformed' }); // pino's error level
    expect((line!.problems as string[]).some((p) => p.startsWith(`${path}: `))).toBe(true);
  });

  it.each([
    ['content-string', 'componentBehaviors.teaser.content'],
    ['content-list', 'componentBehaviors.teaser.content'],
    ['insertions-string', 'componentBehaviors.teaser.content.before'],
    ['html-number', 'componentBehaviors.teaser.content.before[0].content'],
    ['unknown-operation', 'componentBehaviors.teaser.content.replce'],
    ['bad-marker', 'componentBehaviors.teaser.content.replaceRange.fromMarker'],
  ])('content %s: dropped, the selector and properties kept, degraded, logged at %s and counted', async (name, path) => {
    const before = count();
    const { decision } = await decide(name);
    expect(decision.degraded).toBe(true);
    expect(decision.componentBehaviors).toEqual({
      teaser: { properties: { case: name }, metadata: { cssSelector: 'article' } },
      aside: { metadata: { cssSelector: 'aside' } },
    });
    expect(count()).toBe(before + 1);
    const line = logLines.findLast((l) => l.code === 'workflow-output-malformed');
    expect((line!.problems as string[]).some((p) => p.startsWith(`${path}: `))).toBe(true);
  });

  it('well-formed output passes as it was: not degraded, nothing logged', async () => {
    const before = count();
    const { decision } = await decide('fine');
    expect(decision.degraded).toBeUndefined();
    expect(decision.surfaceBehavior).toEqual({ properties: { case: 'fine' }, http: { addHeaders: [{ name: 'x-fine', value: 'yes' }] } });
    expect(decision.componentBehaviors.teaser).toEqual({ ...fine, properties: { case: 'fine' } });
    expect(count()).toBe(before);
  });
});
