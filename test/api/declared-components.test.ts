// Components declared in YAML reach decision API callers as if a workflow had returned them: the
// condition judged on the decision, the templates rendered with its values (escaped), the return
// path taken from the request's http.url only when it is a local path.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../src/api/app.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { loadTestRuntime, writeConfig } from '../gateway/harness.js';

const KEY = 'sk_declared_components_key';
const CONFIG = `version: 1
apiKeys: [{ key: ${KEY} }]
features:
  articles: { name: Articles }
plans:
  reader:
    name: Reader <plan>
    assign: anonymous
    features: { articles: { enabled: { limit: 2, period: week } } }
paywall: { plansUrl: /plans }
surfaces:
  article:
    consume: [articles.enabled]
    components:
      meter:
        selector: body
        when: { remainingBelow: 2 }
        prepend: { html: '<p class="meter">{{ remaining }}/{{ limit }} this {{ period }} ({{ plans | join: ", " }}) <a href="{{ plansUrl }}">plans</a></p>' }
      offer:
        selector: article
        when: { denied: consumption }
        replaceRange: { fromMarker: .teaser, replaceWith: { html: '<div class="offer">{{ feature }}</div>' } }
`;

describe('POST /api/v1/surface-decisions with components declared in YAML', () => {
  let runtime: Runtime;
  let app: ReturnType<typeof createApiApp>;
  beforeAll(async () => {
    runtime = await loadTestRuntime(writeConfig(CONFIG), 'api-declared-components', {});
    app = createApiApp({ engine: () => runtime.engine, events: runtime.events });
  });
  afterAll(() => runtime.close());

  const decide = (visitor: string, url: unknown) =>
    request(app)
      .post('/api/v1/surface-decisions')
      .set('Authorization', `Bearer ${KEY}`)
      .send({ surfaceSlug: 'article', identity: { anonymousIdentifier: visitor }, http: { url } });

  it('renders the banner while reads remain, then only the offer', async () => {
    const visitor = `api-declared-${Date.now()}`;
    const first = await decide(visitor, '/news/a?x=1');
    expect(first.status).toBe(200);
    expect(first.body.componentBehaviors.meter).toEqual({
      metadata: { cssSelector: 'body' },
      content: {
        prepend: [{ type: 'html', content: '<p class="meter">1/2 this week (Reader &lt;plan&gt;) <a href="/plans?return=%2Fnews%2Fa%3Fx%3D1">plans</a></p>' }],
      },
    });
    expect(first.body.componentBehaviors.offer).toEqual({ metadata: { cssSelector: 'article' } });
    await decide(visitor, '/news/b');
    // The third read is refused: the offer, and the banner (0 left) whose link returns to / (the URL given was not a local path).
    const third = await decide(visitor, 'https://evil.example/');
    expect(third.body.componentBehaviors.offer.content).toEqual({
      replaceRange: { fromMarker: '.teaser', replaceWith: [{ type: 'html', content: '<div class="offer">Articles</div>' }] },
    });
    expect(third.body.componentBehaviors.meter.content.prepend[0].content).toContain('href="/plans?return=%2F"');
  });
});
