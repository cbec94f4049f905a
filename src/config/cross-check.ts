// Checks the schema cannot express: slugs as map keys, references between sections (plans →
// features and properties, rules → plans, consume lists and routes → meterable properties, routes
// → surfaces), component selectors the gateway can stream, plan values against their property's type, and the shape of JWT key sources.
// Every problem is reported at the exact key; nothing stops at the first.
import type { ConfigFile, ConsumeItemConfig, FeatureConfig, JwtIntegrationConfig, PlanValueConfig, PropertyConfig } from './schema.js';
import type { IssueCollector, KeyPath } from './locate.js';
import { routeIssues } from './route-rules.js';
import { checkComponents } from './components.js';
import { checkDeeperPaths } from './route-guards.js';
import { checkForwardAuth } from './forward-auth-rules.js';

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const SLUG_HINT = 'use lowercase letters, digits and single hyphens, like my-feature';

type PropertyType = PropertyConfig['type'];

/** Every feature's property types, with the implicit `enabled`. */
export function propertyTypes(features: Record<string, FeatureConfig>): Map<string, Map<string, PropertyType>> {
  const out = new Map<string, Map<string, PropertyType>>();
  for (const [slug, feature] of Object.entries(features)) {
    const props = new Map<string, PropertyType>([['enabled', 'meterable']]);
    for (const [p, prop] of Object.entries(feature.properties ?? {})) if (p !== 'enabled') props.set(p, prop.type);
    out.set(slug, props);
  }
  return out;
}

export function crossCheck(config: ConfigFile, issues: IssueCollector): void {
  const types = propertyTypes(config.features);
  checkFeatures(config, issues);
  checkPlans(config, types, issues);
  checkProvisioning(config, issues);
  checkSurfaces(config, types, issues);
  checkGateway(config, types, issues);
  checkComponents(config, issues);
  config.jwt?.integrations.forEach((integration, i) => checkJwtIntegration(integration, ['jwt', 'integrations', i], issues));
  warnSharedIdentifiers(config, issues);
  checkUniqueNames(config, issues);
  checkStore(config, issues);
  checkAnonymousIds(config, issues);
  checkApiKeyScopes(config, issues);
}

/** The admin scope belongs to secret keys with a name: the name is who the audit log says acted. */
function checkApiKeyScopes(config: ConfigFile, issues: IssueCollector): void {
  config.apiKeys?.forEach((key, i) => {
    if (key.scopes?.includes('admin') !== true) return;
    if (!key.key.startsWith('sk_'))
      issues.add(['apiKeys', i, 'scopes'], 'the admin scope needs a secret (sk_) key: publishable keys ship in page source', { expected: 'an sk_ key' });
    else if (key.name === undefined || key.name.trim() === '')
      issues.add(['apiKeys', i, 'name'], 'a key with the admin scope needs a name: the audit log records it as who acted', { expected: 'a name' });
  });
}

function checkSlugKeys(map: Record<string, unknown> | undefined, path: KeyPath, what: string, issues: IssueCollector): void {
  for (const key of Object.keys(map ?? {})) {
    if (!SLUG.test(key) || key.length > 64) issues.add([...path, key], `'${key}' is not a valid ${what} slug: ${SLUG_HINT}`, { key: true, expected: 'a slug' });
  }
}

function checkFeatures(config: ConfigFile, issues: IssueCollector): void {
  checkSlugKeys(config.features, ['features'], 'feature', issues);
  const featureIds = new Map<string, string>();
  for (const [slug, feature] of Object.entries(config.features)) {
    const featureId = feature.featureId ?? `feat_${slug}`;
    const clash = featureIds.get(featureId);
    if (clash !== undefined)
      issues.add(
        ['features', slug, ...(feature.featureId ? ['featureId'] : [])],
        `featureId '${featureId}' is already used by feature '${clash}': each feature needs its own`,
      );
    featureIds.set(featureId, slug);
    checkSlugKeys(feature.properties, ['features', slug, 'properties'], 'property', issues);
    for (const [p, prop] of Object.entries(feature.properties ?? {})) {
      const at = ['features', slug, 'properties', p];
      if (p === 'enabled' && prop.type !== 'meterable') {
        issues.add([...at, 'type'], "'enabled' is built in and always meterable: declare it with type: meterable or leave it out", { expected: 'meterable' });
        continue;
      }
      if (prop.counterId !== undefined && prop.type !== 'meterable') issues.add([...at, 'counterId'], 'counterId applies to meterable properties only');
      if (prop.fallback !== undefined && !fallbackFits(prop)) {
        issues.add([...at, 'fallback'], `a ${prop.type} property's fallback must be ${FALLBACK_EXPECTED[prop.type]}, got ${typeName(prop.fallback)}`, {
          expected: FALLBACK_EXPECTED[prop.type],
        });
      }
    }
  }
}

const FALLBACK_EXPECTED: Record<PropertyType, string> = {
  boolean: 'true or false',
  number: 'a number or null',
  string: 'a string or null',
  meterable: 'off (a meterable property falls back to off)',
};

/** Whether a value fits a non-meterable property (null stands for "no value" in number and string). */
function scalarFits(type: Exclude<PropertyType, 'meterable'>, v: unknown): boolean {
  if (type === 'boolean') return typeof v === 'boolean';
  return v === null || typeof v === type;
}

function fallbackFits(prop: PropertyConfig): boolean {
  return prop.type === 'meterable' ? prop.fallback === 'off' : scalarFits(prop.type, prop.fallback);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'a string';
  return typeof v;
}

const PLAN_VALUE_EXPECTED: Record<PropertyType, string> = {
  meterable: 'on, off or a meter { limit, period }',
  boolean: 'true or false',
  number: 'a number (or null)',
  string: 'a string (or null)',
};

function planValueFits(type: PropertyType, v: PlanValueConfig): boolean {
  if (type !== 'meterable') return scalarFits(type, v);
  return v === 'on' || v === 'off' || (v !== null && typeof v === 'object');
}

function checkPlans(config: ConfigFile, types: Map<string, Map<string, PropertyType>>, issues: IssueCollector): void {
  checkSlugKeys(config.plans, ['plans'], 'plan', issues);
  const featureList = [...types.keys()].join(', ') || '(none declared)';
  for (const [plan, body] of Object.entries(config.plans)) {
    for (const [feature, values] of Object.entries(body.features ?? {})) {
      const props = types.get(feature);
      if (!props) {
        issues.add(['plans', plan, 'features', feature], `unknown feature '${feature}'; declared features: ${featureList}`, {
          key: true,
          expected: featureList,
        });
        continue;
      }
      for (const [prop, value] of Object.entries(values)) {
        const at = ['plans', plan, 'features', feature, prop];
        const type = props.get(prop);
        if (!type) {
          const known = [...props.keys()].join(', ');
          issues.add(at, `feature '${feature}' has no property '${prop}'; its properties: ${known}`, { key: true, expected: known });
        } else if (!planValueFits(type, value)) {
          issues.add(at, `expected ${PLAN_VALUE_EXPECTED[type]} for ${type} property '${feature}.${prop}', got ${typeName(value)}`, {
            expected: PLAN_VALUE_EXPECTED[type],
          });
        }
      }
    }
  }
}

function checkProvisioning(config: ConfigFile, issues: IssueCollector): void {
  const plans = Object.keys(config.plans);
  config.provisioning?.rules?.forEach((rule, i) => {
    const at = ['provisioning', 'rules', i];
    const tests = (['equals', 'oneOf', 'exists'] as const).filter((k) => Object.hasOwn(rule, k));
    if (tests.length !== 1) {
      issues.add(at, `a rule needs exactly one of equals, oneOf, exists; this one has ${tests.length === 0 ? 'none' : tests.join(' and ')}`, {
        expected: 'one of equals, oneOf, exists',
      });
    }
    rule.plans.forEach((plan, j) => {
      if (!Object.hasOwn(config.plans, plan))
        issues.add([...at, 'plans', j], `unknown plan '${plan}'; declared plans: ${plans.join(', ')}`, { expected: plans.join(', ') });
    });
  });
}

/** `feature.property` → its parts, when it names a property of one of the allowed types. */
function checkRef(ref: string, at: KeyPath, allowed: readonly PropertyType[], types: Map<string, Map<string, PropertyType>>, issues: IssueCollector): void {
  const [feature, prop] = ref.split('.');
  const props = types.get(feature);
  const type = props?.get(prop);
  if (!props) issues.add(at, `unknown feature '${feature}' in '${ref}'; declared features: ${[...types.keys()].join(', ')}`);
  else if (!type) issues.add(at, `feature '${feature}' has no property '${prop}'; its properties: ${[...props.keys()].join(', ')}`);
  else if (!allowed.includes(type))
    issues.add(at, `'${ref}' is a ${type} property; expected a ${allowed.join(' or ')} property`, { expected: allowed.join(' or ') });
}

function checkConsumeList(
  list: readonly ConsumeItemConfig[] | undefined,
  at: KeyPath,
  types: Map<string, Map<string, PropertyType>>,
  issues: IssueCollector,
): void {
  const seen = new Set<string>();
  list?.forEach((item, i) => {
    const ref = typeof item === 'string' ? item : item.property;
    const where = typeof item === 'string' ? [...at, i] : [...at, i, 'property'];
    checkRef(ref, where, ['meterable'], types, issues);
    // Consumption is all or nothing per counter; one entry with `units` says what two would mean.
    if (seen.has(ref)) issues.add(where, `'${ref}' is listed twice: list it once, with { property, units } for more than 1 unit`);
    seen.add(ref);
  });
}

function checkSurfaces(config: ConfigFile, types: Map<string, Map<string, PropertyType>>, issues: IssueCollector): void {
  checkSlugKeys(config.surfaces, ['surfaces'], 'surface', issues);
  for (const [slug, surface] of Object.entries(config.surfaces)) {
    checkConsumeList(surface.consume, ['surfaces', slug, 'consume'], types, issues);
    checkSlugKeys(surface.components, ['surfaces', slug, 'components'], 'component', issues);
  }
}

function checkGateway(config: ConfigFile, types: Map<string, Map<string, PropertyType>>, issues: IssueCollector): void {
  const routes = config.gateway?.routes;
  if (!routes) return;
  const surfaces = Object.keys(config.surfaces);
  for (const issue of routeIssues({ routes, caseSensitive: config.gateway?.caseSensitive })) issues.add(issue.at, issue.message, { expected: issue.expected });
  routes.forEach((route, i) => {
    const at = ['gateway', 'routes', i];
    if (route.bypass !== true && route.surface !== undefined && !Object.hasOwn(config.surfaces, route.surface)) {
      issues.add([...at, 'surface'], `unknown surface '${route.surface}'; declared surfaces: ${surfaces.join(', ')}`, { expected: surfaces.join(', ') });
    }
    if (route.require !== undefined) checkRef(route.require, [...at, 'require'], ['meterable', 'boolean'], types, issues);
    const surface = route.surface === undefined ? undefined : config.surfaces[route.surface];
    if (route.deny?.mode === 'soft' && surface !== undefined && Object.keys(surface.components ?? {}).length === 0 && Object.keys(route.components ?? {}).length === 0)
      issues.add([...at, 'deny', 'mode'], `a soft denial cuts the page with the components of its surface, and surface '${route.surface}' declares none: every soft-denied page would get the hard denial`, {
        expected: 'components on the surface, or mode: hard',
      });
    checkConsumeList(route.consume, [...at, 'consume'], types, issues);
  });
  checkKeyIds(config.gateway?.signing?.keys, ['gateway', 'signing', 'keys'], 'signing', issues);
  checkDeeperPaths(routes, config.surfaces, config.gateway?.caseSensitive === true, issues);
  checkForwardAuth(config, issues);
}

const HMAC_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

function checkJwtIntegration(integration: JwtIntegrationConfig, at: KeyPath, issues: IssueCollector): void {
  const sources = (['publicKey', 'publicKeyFile', 'publicKeys', 'jwksUrl', 'secret'] as const).filter((k) => integration[k] !== undefined);
  if (sources.length !== 1) {
    const found = sources.length === 0 ? 'none' : sources.join(' and ');
    issues.add(at, `a JWT integration needs exactly one key source of publicKey, publicKeyFile, publicKeys, jwksUrl, secret; found ${found}`, {
      expected: 'one of publicKey, publicKeyFile, publicKeys, jwksUrl, secret',
    });
  }
  integration.publicKeys?.forEach((entry, i) => {
    if ((entry.pem === undefined) === (entry.file === undefined))
      issues.add([...at, 'publicKeys', i], 'a public key entry needs exactly one of pem or file', { expected: 'pem or file' });
  });
  if (integration.jwks !== undefined && integration.jwksUrl === undefined) issues.add([...at, 'jwks'], 'jwks settings apply only with jwksUrl');
  const hmac = integration.algorithms.filter((a) => a.startsWith('HS'));
  if (hmac.length > 0 && hmac.length < integration.algorithms.length) {
    issues.add([...at, 'algorithms'], 'HMAC (HS*) and public-key algorithms cannot be mixed in one integration: declare two integrations', {
      expected: 'only HS* or only public-key algorithms',
    });
    return;
  }
  if (integration.secret !== undefined) {
    if (hmac.length === 0) {
      issues.add([...at, 'secret'], 'a secret verifies HS256/HS384/HS512 tokens only: list those in algorithms, or use a public key', {
        expected: 'HS256, HS384 or HS512',
      });
      return;
    }
    const needed = Math.max(...hmac.map((a) => HMAC_BYTES[a]));
    const strongest = hmac.find((a) => HMAC_BYTES[a] === needed);
    // The length is compared, never printed: the message must not help guess the secret.
    if (Buffer.byteLength(integration.secret, 'utf8') < needed)
      issues.add([...at, 'secret'], `the secret is shorter than the ${needed} bytes ${strongest} needs: use a longer random secret`, {
        expected: `at least ${needed} bytes`,
      });
  } else if (hmac.length > 0 && sources.length === 1) {
    issues.add([...at, 'algorithms'], `HS* algorithms need a secret, not ${sources[0]}: list public-key algorithms (RS256, ES256, EdDSA, ...) or use secret`, {
      expected: 'public-key algorithms',
    });
  }
}

/**
 * Two JWT integrations in one identifier space: a token from either with the same claim value is the
 * same visitor (same counters). Declaring the same `identifierNamespace` on both says that is meant.
 */
function warnSharedIdentifiers(config: ConfigFile, issues: IssueCollector): void {
  const integrations = config.jwt?.integrations ?? [];
  const first = integrations.findIndex((integration) => integration.identifierNamespace === undefined);
  if (first === -1) return;
  integrations.forEach((integration, i) => {
    if (i <= first || integration.identifierNamespace !== undefined) return;
    issues.warn(
      ['jwt', 'integrations', i],
      `integration '${integration.name}' shares its identifiers with '${integrations[first].name}' (jwt.integrations[${first}]): ` +
        `a token from either whose ${integration.claimKey} is the same value is the same visitor, with the same counters. ` +
        'If they identify different people, give the one added later an identifierNamespace (its identifiers become <namespace>:<value>; see docs/jwt.md)',
    );
  });
}

function checkUniqueNames(config: ConfigFile, issues: IssueCollector): void {
  const seen = new Map<string, number>();
  config.jwt?.integrations.forEach((integration, i) => {
    const first = seen.get(integration.name);
    if (first !== undefined)
      issues.add(['jwt', 'integrations', i, 'name'], `integration name '${integration.name}' is already used by jwt.integrations[${first}]`);
    else seen.set(integration.name, i);
  });
  const keys = new Map<string, number>();
  config.apiKeys?.forEach((apiKey, i) => {
    const first = keys.get(apiKey.key);
    // Never quote the key itself: it is a secret.
    if (first !== undefined) issues.add(['apiKeys', i, 'key'], `same key as apiKeys[${first}]: each key once`);
    else keys.set(apiKey.key, i);
  });
}

function checkStore(config: ConfigFile, issues: IssueCollector): void {
  const redis = config.store?.redis;
  if (!redis) return;
  const forms = [redis.url ? 'url' : undefined, redis.sentinels ? 'sentinels' : undefined, redis.cluster ? 'cluster' : undefined].filter(
    (f) => f !== undefined,
  );
  const at = ['store', 'redis'];
  if (forms.length > 1)
    issues.add(at, `choose one Redis connection form: url, sentinels (with name) or cluster; found ${forms.join(' and ')}`, {
      expected: 'url, sentinels or cluster',
    });
  if (redis.sentinels && redis.name === undefined)
    issues.add([...at, 'sentinels'], "sentinels need 'name', the name of the master they watch", { expected: 'name' });
  if (redis.name !== undefined && !redis.sentinels) issues.add([...at, 'name'], "'name' is the Sentinel master name and needs sentinels");
  if (redis.url && !/^rediss?:\/\//.test(redis.url))
    issues.add([...at, 'url'], 'expected a redis:// or rediss:// URL (or an empty string for no Redis)', { expected: 'redis:// or rediss:// URL' });
}

function checkKeyIds(keys: readonly { id: string }[] | undefined, at: KeyPath, what: string, issues: IssueCollector): void {
  const ids = new Set<string>();
  keys?.forEach((key, i) => {
    if (ids.has(key.id)) issues.add([...at, i, 'id'], `${what} key id '${key.id}' is used twice: each key needs its own id`);
    ids.add(key.id);
  });
}

function checkAnonymousIds(config: ConfigFile, issues: IssueCollector): void {
  checkKeyIds(config.anonymousIds?.keys, ['anonymousIds', 'keys'], 'anonymous-id', issues);
  if (config.api?.anonymousIds === 'signed' && config.anonymousIds === undefined)
    issues.add(
      ['api', 'anonymousIds'],
      'signed anonymous ids need the secret they are signed with: add anonymousIds.keys (or run with --dev for a local one)',
      {
        expected: 'anonymousIds.keys',
      },
    );
}
