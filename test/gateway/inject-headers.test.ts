import { describe, expect, it } from 'vitest';
import type { DecisionOutcome, EngineLogger } from '../../src/engine/engine.js';
import type { SurfaceDecision } from '../../src/engine/types.js';
import { createHeaderInjector, percentEncode } from '../../src/gateway/inject-headers.js';

function recordingLogger(): EngineLogger & { events: { level: string; code: string }[] } {
  const events: { level: string; code: string }[] = [];
  return { events, event: (level, code) => events.push({ level, code }) };
}

function outcome(overrides: Partial<SurfaceDecision> = {}, extra: Partial<DecisionOutcome> = {}): DecisionOutcome {
  const decision: SurfaceDecision = {
    status: 'success',
    eventId: 'evt_1',
    identity: { authType: 'jwt', identifier: 'ann@example.com', isAuthenticated: true, jwtClaims: { email: 'ann@example.com' } },
    customer: { isCustomer: false, hasProducts: false, customerIdentifiers: [] },
    features: {
      articles: {
        featureId: 'feat_articles',
        featureSlug: 'articles',
        properties: {
          enabled: { type: 'meterable', counterId: 'c', hasAccess: true, isFallback: false, remainingUnits: 2, totalUnits: 3, consumedUnits: 1 },
          premium: { type: 'boolean', value: false, isFallback: true },
          quota: { type: 'number', value: 2.5, isFallback: false },
          tagline: { type: 'string', value: 'Grüße\r\nSet-Cookie: x=1', isFallback: false },
          nothing: { type: 'string', value: null, isFallback: true },
        },
      },
      extras: {
        featureId: 'feat_extras',
        featureSlug: 'extras',
        properties: { enabled: { type: 'meterable', counterId: 'd', hasAccess: false, isFallback: true } },
      },
    },
    surfaceBehavior: { properties: { 'odd name\n': 'välue', n: 1 } },
    componentsSkipped: false,
    componentBehaviors: {},
    ...overrides,
  };
  return { decision, denied: false, recordsUsage: false, plans: ['anonymous', 'registered'], ...extra };
}

const REAL = { forwardedDenial: false, dryRun: false };

describe('createHeaderInjector', () => {
  it('injects identity, plans, every property, surface properties and degraded', () => {
    const inject = createHeaderInjector({ prefix: 'x-plangate-', injectDecision: false, logger: recordingLogger() });
    expect(inject(outcome(), REAL)).toEqual({
      'x-plangate-id': 'ann%40example.com',
      'x-plangate-auth-type': 'jwt',
      'x-plangate-authenticated': 'true',
      'x-plangate-plans': 'anonymous,registered',
      'x-plangate-articles--enabled': 'access=1; remaining=2; limit=3',
      'x-plangate-articles--premium': 'false',
      'x-plangate-articles--quota': '2.5',
      'x-plangate-articles--tagline': 'Gr%C3%BC%C3%9Fe%0D%0ASet-Cookie%3A%20x%3D1',
      'x-plangate-articles--nothing': '',
      'x-plangate-extras--enabled': 'access=0',
      'x-plangate-surface-properties': Buffer.from(JSON.stringify({ 'odd name\n': 'välue', n: 1 })).toString('base64url'),
      'x-plangate-degraded': 'false',
    });
  });

  it('never emits a value outside printable ASCII', () => {
    const inject = createHeaderInjector({ prefix: 'x-p-', injectDecision: true, logger: recordingLogger() });
    const hostile = outcome({ identity: { authType: 'jwt', identifier: 'a\r\nb\u0000\ud800é', isAuthenticated: true, jwtClaims: { x: '\n' } } });
    for (const value of Object.values(inject(hostile, REAL))) expect(value).toMatch(/^[\x20-\x7e]*$/);
  });

  it('reports a forwarded denial and degraded decisions', () => {
    const inject = createHeaderInjector({ prefix: 'x-plangate-', injectDecision: false, logger: recordingLogger() });
    const headers = inject(outcome({ degraded: true }, { denied: true, denialReason: 'consumption' }), { forwardedDenial: true, dryRun: false });
    expect(headers['x-plangate-denied']).toBe('consumption');
    expect(headers['x-plangate-degraded']).toBe('true');
    expect(inject(outcome({}, { denied: true, denialReason: 'requirement' }), REAL)).not.toHaveProperty('x-plangate-denied');
  });

  it('injects the whole decision when asked, and leaves out one over 8 KB with a warning', () => {
    const logger = recordingLogger();
    const inject = createHeaderInjector({ prefix: 'x-plangate-', injectDecision: true, logger });
    const small = inject(outcome(), REAL)['x-plangate-decision'];
    expect(JSON.parse(Buffer.from(small, 'base64url').toString())).toMatchObject({ eventId: 'evt_1' });
    const big = inject(outcome({ surfaceBehavior: { properties: { blob: 'x'.repeat(9000) } } }), REAL);
    expect(big).not.toHaveProperty('x-plangate-decision');
    expect(logger.events).toEqual([{ level: 'warn', code: 'decision-header-too-large' }]);
  });

  it('survives properties JSON cannot represent', () => {
    const logger = recordingLogger();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const headers = createHeaderInjector({ prefix: 'x-plangate-', injectDecision: false, logger })(outcome({ surfaceBehavior: { properties: cyclic } }), REAL);
    expect(headers['x-plangate-surface-properties']).toBe(Buffer.from('{}').toString('base64url'));
    expect(logger.events[0].code).toBe('header-encoding-failed');
  });
});

describe('percentEncode', () => {
  it.each([
    ['plain', 'plain'],
    ['a b+c', 'a%20b%2Bc'],
    ['\r\n', '%0D%0A'],
    ['café', 'caf%C3%A9'],
    ['\ud800', '%EF%BF%BD'],
  ])('%j → %s', (input, expected) => expect(percentEncode(input)).toBe(expected));
});
