// The decision API never hands a caller workflow output the wire format does not allow (an official
// edge proxy would throw on it): what is malformed is left out and the decision says `degraded: true`.
// The engine's side (what is dropped, logged and counted) is in test/engine/components/malformed-output.test.ts.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../src/api/app.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { loadFixture } from '../fixtures/engine/harness.js';

const KEY = 'sk_workflow_fixture_key';

describe('POST /api/v1/surface-decisions with malformed workflow output', () => {
  let runtime: Runtime;
  let app: ReturnType<typeof createApiApp>;
  beforeAll(async () => {
    runtime = await loadFixture('workflows.yaml');
    app = createApiApp({ engine: () => runtime.engine, events: runtime.events });
  });
  afterAll(() => runtime.close());

  const decide = (name: string) =>
    request(app)
      .post('/api/v1/surface-decisions')
      .set('Authorization', `Bearer ${KEY}`)
      .send({ surfaceSlug: 'malformed', identity: { anonymousIdentifier: `api-${name}` }, resource: { id: `/cases/${name}` } });

  it.each(['add-headers', 'status', 'http-string', 'header-value'])('http %s: the caller gets no http, degraded: true', async (name) => {
    const res = await decide(name);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    expect(res.body.degraded).toBe(true);
    expect(res.body.surfaceBehavior).toEqual({ properties: { case: name } });
    expect(res.body.componentsSkipped).toBe(false);
    expect(res.text).not.toContain('abc');
    expect(res.text).not.toContain('"addHeaders"');
  });

  it.each(['content-string', 'content-list', 'insertions-string', 'html-number', 'unknown-operation', 'bad-marker'])(
    'content %s: the component keeps its selector and properties, no content; degraded: true',
    async (name) => {
      const res = await decide(name);
      expect(res.status).toBe(200);
      expect(res.body.degraded).toBe(true);
      expect(res.body.componentBehaviors.teaser).toEqual({ properties: { case: name }, metadata: { cssSelector: 'article' } });
      expect(res.text).not.toContain('"content"');
    },
  );

  it('well-formed output reaches the caller as the workflow returned it', async () => {
    const res = await decide('fine');
    expect(res.body.degraded).toBeUndefined();
    expect(res.body.surfaceBehavior.http).toEqual({ addHeaders: [{ name: 'x-fine', value: 'yes' }] });
    expect(res.body.componentBehaviors.teaser.content).toEqual({ before: [{ type: 'html', content: '<b>fine</b>' }] });
  });
});
