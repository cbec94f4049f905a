// Template values built by hand, for tests of what renders them (the engine builds the real ones).
import type { TemplateValues } from '../../src/engine/types.js';

export function testTemplateValues(over: Partial<TemplateValues> & { returnPath: string }): TemplateValues {
  return {
    denied: true,
    reason: 'consumption',
    feature: 'Articles',
    remaining: 0,
    limit: 3,
    period: 'month',
    plans: ['Anonymous reader'],
    upgradePlans: ['Premium reader'],
    authenticated: false,
    returnParam: encodeURIComponent(over.returnPath),
    loginUrl: '',
    plansUrl: '',
    properties: {},
    ...over,
  };
}
