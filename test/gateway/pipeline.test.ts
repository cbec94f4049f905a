// pipeline.run as a unit, beside the socket tests: a gateway model compiled by the real config loader,
// a fake engine whose decisions the test chooses, and requests that are plain objects (no sockets).
// Each case checks the verdict the listener would carry out, and what the engine was asked.
import type { IncomingMessage } from 'node:http';
import { testTemplateValues } from '../support/template-values.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { DecisionOutcome, DecisionRequest, Engine } from '../../src/engine/engine.js';
import { AnonymousIds } from '../../src/engine/identity/anonymous-ids.js';
import type { GatewayModel } from '../../src/gateway/model.js';
import type { RequestTrace } from '../../src/gateway/observer.js';
import { createPipeline, type Pipeline, type Verdict } from '../../src/gateway/pipeline.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';
import { recordingLogger, writeConfig, type RecordingLogger } from './harness.js';

const CONFIG = `version: 1
features:
  articles: {}
plans:
  anyone: { assign: anonymous, features: { articles: { enabled: { limit: 3, period: month } } } }
surfaces:
  article: {}
  site: {}
gateway:
  upstream: http://127.0.0.1:9
  routes:
    - { path: /static/**, bypass: true }
    - { path: /articles/*, surface: article, consume: [articles.enabled] }
    - { path: /**, surface: site }
`;

/** What the fake engine answers next, and every request it was asked to decide. */
interface FakeEngine {
  engine: Engine;
  asked: DecisionRequest[];
  answer: (request: DecisionRequest) => DecisionOutcome;
}

function decision(request: DecisionRequest, extra: Partial<DecisionOutcome['decision']> = {}): DecisionOutcome['decision'] {
  const identity =
    'resolved' in request.identity ? request.identity.resolved : { authType: 'anonymous' as const, identifier: 'x', isAuthenticated: false, jwtClaims: {} };
  return {
    status: 'success',
    eventId: 'event-1',
    identity,
    customer: { isCustomer: false, hasProducts: false, customerIdentifiers: [] },
    features: {},
    surfaceBehavior: {},
    componentsSkipped: false,
    componentBehaviors: {},
    ...extra,
  };
}

const granted = (request: DecisionRequest): DecisionOutcome => ({ decision: decision(request), denied: false, recordsUsage: true, plans: ['anyone'] });

function fakeEngine(): FakeEngine {
  const fake: FakeEngine = { asked: [], answer: granted, engine: undefined as unknown as Engine };
  fake.engine = {
    anonymousIds: new AnonymousIds([TEST_ANONYMOUS_ID_KEY]),
    verifier: { verify: async () => ({ ok: false, reason: 'malformed' }) },
    newAnonymousIdAllowed: async () => true,
    decide: async (request: DecisionRequest) => {
      fake.asked.push(request);
      return fake.answer(request);
    },
  } as unknown as Engine;
  return fake;
}

function request(url: string, headers: Record<string, string> = {}, method = 'GET'): IncomingMessage {
  const all = { host: 'site.example', ...headers };
  return { method, url, headers: all, rawHeaders: Object.entries(all).flat(), socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

const trace = (): RequestTrace => ({ requestId: 'req-1', route: '-' });

let gateway: GatewayModel;
beforeAll(async () => {
  gateway = (await loadConfig(writeConfig(CONFIG), { env: {} })).gateway!;
});

function setup(): { pipeline: Pipeline; fake: FakeEngine; logger: RecordingLogger } {
  const fake = fakeEngine();
  const logger = recordingLogger();
  return { pipeline: createPipeline({ gateway, engine: fake.engine, upstreamHost: '127.0.0.1:9', logger }), fake, logger };
}

const asAnswer = (verdict: Verdict) => {
  if (verdict.kind !== 'answer') throw new Error(`expected an answer, got ${verdict.kind}`);
  return verdict;
};
const asForward = (verdict: Verdict) => {
  if (verdict.kind !== 'forward') throw new Error(`expected a forward, got ${verdict.kind}`);
  return verdict;
};

describe('pipeline.run', () => {
  it('forwards a bypass route at once (no promise), undecided, with client decision headers stripped', () => {
    const { pipeline, fake } = setup();
    const t = trace();
    const verdict = pipeline.run(request('/static/app.css', { 'x-plangate-plans': 'premium' }), t);
    expect(verdict).not.toBeInstanceOf(Promise);
    const forward = asForward(verdict as Verdict);
    expect([forward.outcome, forward.target, forward.headers['x-plangate-plans'], forward.headers['x-plangate-request-id']]).toEqual([
      'bypassed',
      '/static/app.css',
      undefined,
      'req-1',
    ]);
    expect(forward.additions.setCookies).toEqual([]);
    expect([fake.asked.length, t.route]).toEqual([0, '/static/**']);
  });

  it('answers a rejected path at once with 400 and never asks the engine', () => {
    const { pipeline, fake, logger } = setup();
    const answer = asAnswer(pipeline.run(request('/a%2Fb', { accept: 'application/json' }), trace()) as Verdict);
    expect([answer.outcome, answer.head.status, JSON.parse(answer.body).code]).toEqual(['rejected', 400, 'path-encoded-slash']);
    expect(fake.asked).toEqual([]);
    expect(logger.events.map((e) => e.code)).toEqual(['gateway-path-rejected']);
  });

  it('decides a guarded route with its consumption and the canonical path as resource, then forwards with the decision and a new cookie', async () => {
    const { pipeline, fake } = setup();
    const t = trace();
    const forward = asForward(await pipeline.run(request('/articles/./One?x=1'), t));
    expect(fake.asked).toHaveLength(1);
    expect(fake.asked[0]).toMatchObject({ surfaceSlug: 'article', trusted: false, dryRun: false, resource: { id: '/articles/one' } });
    expect(fake.asked[0].route!.consume).toEqual([{ feature: 'articles', property: 'enabled', units: 1 }]);
    expect([forward.outcome, forward.target, forward.headers['x-plangate-plans']]).toEqual(['forwarded', '/articles/One?x=1', 'anyone']);
    expect(forward.additions.setCookies).toHaveLength(1);
    expect(forward.additions.setCookies[0]).toMatch(/^plangate_anon=[0-9a-f-]{36}\.[\w-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(t).toMatchObject({ route: '/articles/*', surface: 'article', identityType: 'anonymous', plans: ['anyone'], degraded: false });
  });

  it('answers a denied request with the route denial (a 402 paywall), never forwarding it', async () => {
    const { pipeline, fake } = setup();
    fake.answer = (r) => ({ ...granted(r), denied: true, denialReason: 'consumption', templateValues: testTemplateValues({ returnPath: '/articles/two' }) });
    const answer = asAnswer(await pipeline.run(request('/articles/two', { accept: 'application/json' }), trace()));
    expect([answer.outcome, answer.head.status, JSON.parse(answer.body).reason]).toEqual(['denied', 402, 'consumption']);
    expect(answer.head.headers['set-cookie']).toHaveLength(1);
  });

  it('answers a surface behavior with a body itself', async () => {
    const { pipeline, fake } = setup();
    fake.answer = (r) => ({ ...granted(r), decision: decision(r, { surfaceBehavior: { http: { status: 451, body: 'gone' } } }) });
    const answer = asAnswer(await pipeline.run(request('/about'), trace()));
    expect([answer.outcome, answer.head.status, answer.body]).toEqual(['answered', 451, 'gone']);
  });

  it('refuses a prefetch of a guarded route before deciding it', async () => {
    const { pipeline, fake } = setup();
    const answer = asAnswer(await pipeline.run(request('/articles/three', { 'sec-purpose': 'prefetch' }), trace()));
    expect([answer.outcome, answer.head.status]).toEqual(['prefetch-refused', 503]);
    expect(fake.asked).toEqual([]);
  });

  it('decides a HEAD as a dry run and forwards it bodyless', async () => {
    const { pipeline, fake } = setup();
    const forward = asForward(await pipeline.run(request('/articles/four', {}, 'HEAD'), trace()));
    expect([fake.asked[0].dryRun, forward.bodyless, forward.headers['x-plangate-dry-run']]).toEqual([true, true, '1']);
  });

  it('answers 500 when the engine fails, logging gateway-decision-failed', async () => {
    const { pipeline, fake, logger } = setup();
    fake.answer = () => {
      throw new Error('boom');
    };
    const answer = asAnswer(await pipeline.run(request('/about', { accept: 'application/json' }), trace()));
    expect([answer.outcome, answer.head.status, JSON.parse(answer.body).code]).toEqual(['error', 500, 'decision-failed']);
    expect(logger.events.find((e) => e.code === 'gateway-decision-failed')?.fields).toMatchObject({ error: 'boom', route: 2 });
  });
});
