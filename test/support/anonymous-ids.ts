// The anonymous-id key the test stacks run with (configs without `anonymousIds` get it the way `--dev`
// gives them the local one), and cookies signed with it.
import { AnonymousIds, type AnonymousIdKey } from '../../src/engine/identity/anonymous-ids.js';

export const TEST_ANONYMOUS_ID_KEY: AnonymousIdKey = { id: 'test', secret: 'test-anonymous-id-secret-of-more-than-32-bytes' };

const testIds = new AnonymousIds([TEST_ANONYMOUS_ID_KEY]);

/** `id` signed as the gateway would sign it under the test key. */
export function signedAnonymousId(id: string): string {
  return testIds.sign(id);
}

/**
 * The part of a test config the anonymous-id tests share: `anonymousIds` with `keys`, and 3 articles
 * a month for anonymous visitors (`unique`: re-reading one is free).
 */
export function anonymousReadsYaml(keys: readonly AnonymousIdKey[], unique: boolean): string {
  return `anonymousIds:
  keys:
${keys.map((k) => `    - id: ${k.id}\n      secret: ${k.secret}`).join('\n')}
features:
  articles: {}
plans:
  anonymous:
    assign: anonymous
    features:
      articles:
        enabled: { limit: 3, period: month, uniqueResources: ${unique} }
`;
}
