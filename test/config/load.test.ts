import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../src/config/errors.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import type { PatternSegment } from '../../src/gateway/model.js';

const broken = (name: string) => resolve('test/fixtures/configs/broken', name);
const good = (name: string) => resolve('test/fixtures/configs/good', name);

async function refusal(file: string, env: Record<string, string> = {}): Promise<ConfigError> {
  const error = await loadConfig(file, { env }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError for ${file}, got ${String(error)}`);
  return error;
}

// Each broken file is refused with the first problem at this line, column and key path.
const table: { file: string; line: number; column: number; path: string; message: RegExp; env?: Record<string, string> }[] = [
  { file: 'syntax-error.yaml', line: 4, column: 1, path: 'features.widget.name', message: /^YAML syntax error: Flow map/ },
  { file: 'duplicate-key.yaml', line: 7, column: 3, path: 'plans.registered', message: /^duplicate key/ },
  {
    file: 'unknown-key.yaml',
    line: 7,
    column: 5,
    path: 'plans.registered.feature',
    message: /^unknown key 'feature'; expected one of name, assign, features$/,
  },
  { file: 'wrong-type.yaml', line: 7, column: 14, path: 'workflows.timeoutMs', message: /^expected integer, got string$/ },
  { file: 'zero-pending.yaml', line: 7, column: 24, path: 'server.maxPendingDecisions', message: /^must be at least 1/ },
  { file: 'negative-limit.yaml', line: 8, column: 27, path: 'plans.registered.features.widget.enabled.limit', message: /^must be at least 0/ },
  {
    file: 'bad-period.yaml',
    line: 10,
    column: 19,
    path: 'plans.registered.features.widget.enabled.period',
    message: /^expected one of lifetime, day, week, month, year$/,
  },
  {
    file: 'unknown-feature.yaml',
    line: 7,
    column: 7,
    path: 'plans.registered.features.gadget',
    message: /^unknown feature 'gadget'; declared features: widget$/,
  },
  {
    file: 'unknown-property.yaml',
    line: 11,
    column: 9,
    path: 'plans.premium.features.widget.premum',
    message: /^feature 'widget' has no property 'premum'; its properties: enabled, premium$/,
  },
  { file: 'unknown-plan-rule.yaml', line: 10, column: 24, path: 'provisioning.rules[0].plans[1]', message: /^unknown plan 'platinum'/ },
  {
    file: 'missing-workflow.yaml',
    line: 7,
    column: 15,
    path: 'surfaces.hello-world.workflow',
    message: /^workflow file not found: .*broken\/workflows\/does-not-exist\.ts$/,
  },
  { file: 'no-default-export.yaml', line: 7, column: 7, path: 'provisioning.workflows[0]', message: /no-default\.ts has no default export that is a function/ },
  {
    file: 'bad-pem.yaml',
    line: 7,
    column: 22,
    path: 'jwt.integrations[0].publicKeyFile',
    message: /^key file .*broken\/keys\/garbage\.pem is not a valid PEM public key/,
  },
  {
    file: 'unset-env.yaml',
    line: 8,
    column: 10,
    path: 'store.redis.url',
    message:
      /^environment variable PLANGATE_TEST_UNSET_REDIS_URL is not set: set it \(export PLANGATE_TEST_UNSET_REDIS_URL=\.\.\.\) or write \$\{PLANGATE_TEST_UNSET_REDIS_URL:-default\}/,
  },
  { file: 'bad-slug.yaml', line: 3, column: 3, path: 'features.Widget_Feature', message: /is not a valid feature slug/ },
  { file: 'enabled-not-meterable.yaml', line: 5, column: 24, path: 'features.widget.properties.enabled.type', message: /always meterable/ },
  {
    file: 'short-secret.yaml',
    line: 6,
    column: 15,
    path: 'jwt.integrations[0].secret',
    message: /shorter than the 32 bytes HS256 needs/,
    env: { PLANGATE_TEST_SHORT_SECRET: 'tooshort' },
  },
  { file: 'two-key-sources.yaml', line: 4, column: 7, path: 'jwt.integrations[0]', message: /exactly one key source .* found publicKeyFile and jwksUrl/ },
  { file: 'no-catch-all.yaml', line: 13, column: 13, path: 'gateway.routes[1].path', message: /last route must be the catch-all '\/\*\*'/ },
  {
    file: 'bad-consume.yaml',
    line: 10,
    column: 9,
    path: 'surfaces.hello-world.consume[0]',
    message: /'widget\.premium' is a boolean property; expected a meterable property/,
  },
  {
    file: 'unstreamable-selector.yaml',
    line: 13,
    column: 19,
    path: 'surfaces.article.components.cut.selector',
    message: /^the selector "article p:last-child" cannot be applied to a streaming page: ':last-child' depends on what comes after the element/,
  },
  {
    file: 'soft-without-components.yaml',
    line: 13,
    column: 38,
    path: 'gateway.routes[0].deny.mode',
    message: /^a soft denial cuts the page with the components of its surface, and surface 'article' declares none/,
  },
];

describe('loadConfig refuses broken configs', () => {
  it.each(table)('$file → $line:$column $path', async ({ file, line, column, path, message, env }) => {
    const error = await refusal(broken(file), env);
    const first = error.issues[0];
    expect({ file: first.file, line: first.line, column: first.column, path: first.path }).toEqual({ file: broken(file), line, column, path });
    expect(first.message).toMatch(message);
    expect(error.format().split('\n')[0]).toBe(`${broken(file)}:${line}:${column}  ${path}: ${first.message}`);
  });

  it('collects every schema problem, not just the first', async () => {
    const error = await refusal(broken('many-problems.yaml'));
    expect(error.issues.map((i: ConfigIssue) => [i.line, i.column, i.path, i.message])).toEqual([
      [6, 13, 'plans.registered.assign', 'expected anonymous, authenticated or none'],
      [
        9,
        45,
        'plans.registered.features.widget.enabled.unique',
        "unknown key 'unique'; expected one of limit, period, uniqueResources, allowPartialConsumption",
      ],
      [12, 16, 'server.api.port', 'expected integer, got string'],
    ]);
  });

  it('reports every cross-reference problem of a consume list', async () => {
    const error = await refusal(broken('bad-consume.yaml'));
    expect(error.issues.map((i) => i.path)).toEqual([
      'surfaces.hello-world.consume[0]',
      'surfaces.hello-world.consume[1].property',
      'surfaces.hello-world.consume[3].property',
    ]);
    expect(error.issues[1].message).toBe("unknown feature 'gadget' in 'gadget.enabled'; declared features: widget");
    expect(error.issues[2]).toMatchObject({
      line: 14,
      column: 19,
      message: "'widget.enabled' is listed twice: list it once, with { property, units } for more than 1 unit",
    });
  });

  it('bounds units and limits to what the meter stores hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-bounds-'));
    const file = join(dir, 'plangate.yaml');
    writeFileSync(
      file,
      'version: 1\nfeatures:\n  a: {}\nplans:\n  p:\n    features:\n      a:\n        enabled: { limit: 1e16, period: month }\nsurfaces:\n  s:\n    consume:\n      - { property: a.enabled, units: 1000001 }\n',
    );
    const error = await refusal(file);
    expect(error.issues.map((i) => [i.path, i.message])).toEqual([
      ['plans.p.features.a.enabled.limit', 'must be at most 1000000000000000 (a whole number of units, 0 to 1000000000000000)'],
      ['surfaces.s.consume[0].units', 'must be at most 1000000 (a whole number, 1 to 1000000 (default 1))'],
    ]);
  });

  it('never puts a secret value into the error', async () => {
    const secret = 'tooshort-hunter2';
    const error = await refusal(broken('short-secret.yaml'), { PLANGATE_TEST_SHORT_SECRET: secret });
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('hunter2');
  });

  it('says which file is missing', async () => {
    const error = await refusal(broken('no-such-config.yaml'));
    expect(error.issues[0]).toMatchObject({ line: 1, column: 1, path: '', message: 'config file not found' });
  });

  it('names the missing key file and how to fix it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-config-'));
    const error = await refusal(good('full.yaml'), {
      PLANGATE_TEST_SECRET_KEY: 'sk_test_12345678',
      PLANGATE_TEST_HMAC_SECRET: 'x'.repeat(32),
      PLANGATE_TEST_KEY_FILE: join(dir, 'absent.pub.pem'),
    });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0].path).toBe('jwt.integrations[0].publicKeyFile');
    expect(error.issues[0].message).toBe(`file not found: ${join(dir, 'absent.pub.pem')}; create it or point publicKeyFile at your key`);
  });
});

describe('loadConfig compiles good configs', () => {
  let env: Record<string, string>;
  let publicPem: string;
  let model: LoadedConfig;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-config-'));
    publicPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'test-jwt.pub.pem'), publicPem);
    env = {
      PLANGATE_TEST_SECRET_KEY: 'sk_test_backend_key',
      PLANGATE_TEST_HMAC_SECRET: randomBytes(32).toString('hex'),
      PLANGATE_TEST_KEY_FILE: join(dir, 'test-jwt.pub.pem'),
      PLANGATE_TEST_TIMEOUT_MS: '',
    };
    model = await loadConfig(good('full.yaml'), { env });
  });

  it('adds the implicit enabled property and default counter ids', async () => {
    const widget = model.featureBySlug.get('widget')!;
    expect(widget).toMatchObject({ slug: 'widget', featureId: 'feat_widget', name: 'Widget' });
    expect(widget.properties.map((p) => [p.slug, p.type, p.counterId, p.fallback, p.conflict])).toEqual([
      ['enabled', 'meterable', 'default:feat_widget.enabled', 'off', 'highest'],
      ['premium', 'boolean', '', false, 'highest'],
    ]);
    const articles = model.featureBySlug.get('articles')!;
    expect(articles.properties.map((p) => [p.slug, p.counterId, p.fallback, p.conflict])).toEqual([
      ['enabled', 'default:feat_news.enabled', 'off', 'highest'],
      ['reads', 'shared-reads', 'off', 'highest'],
      ['tier', '', 'free', 'lowest'],
      ['quota', '', null, 'highest'],
    ]);
    expect(model.features.map((f) => f.slug)).toEqual(['widget', 'articles', 'videos']);
  });

  it('gathers every period plans meter a counter with, in period order', async () => {
    expect(Object.fromEntries(model.counterPeriods)).toEqual({
      'default:feat_widget.enabled': ['lifetime'],
      'default:feat_news.enabled': ['lifetime'],
      'shared-reads': ['day', 'week', 'month'],
      'default:feat_videos.enabled': ['lifetime'],
    });
    expect([...model.uniqueCounters]).toEqual(['shared-reads']);
  });

  it('compiles plans, their values and automatic assignment', async () => {
    expect(model.plans.map((p) => [p.slug, p.name, p.index, p.assign])).toEqual([
      ['anonymous', 'anonymous', 0, 'anonymous'],
      ['registered', 'Registered', 1, 'authenticated'],
      ['premium', 'premium', 2, 'none'],
    ]);
    expect(model.autoPlans.anonymous.map((p) => p.slug)).toEqual(['anonymous']);
    expect(model.autoPlans.authenticated.map((p) => p.slug)).toEqual(['registered']);
    const registered = model.planBySlug.get('registered')!;
    expect(registered.values.get('widget.enabled')).toEqual({ kind: 'metered', limit: 3, period: 'lifetime', uniqueResources: false, allowPartial: false });
    expect(registered.values.get('articles.quota')).toEqual({ kind: 'scalar', value: 5 });
    const premium = model.planBySlug.get('premium')!;
    expect(premium.values.get('widget.enabled')).toEqual({ kind: 'on' });
    expect(premium.values.get('articles.enabled')).toEqual({ kind: 'off' });
    expect(premium.values.get('widget.premium')).toEqual({ kind: 'scalar', value: true });
    // ${PLANGATE_TEST_VIEWS:-20}, unset: the default, read as a number.
    expect(premium.values.get('videos.views')).toEqual({ kind: 'metered', limit: 20, period: 'day', uniqueResources: false, allowPartial: true });
  });

  it('substitutes environment variables in values, with defaults', async () => {
    const model = await loadConfig(good('full.yaml'), { env: { ...env, PLANGATE_TEST_VIEWS: '7', PLANGATE_TEST_ORIGIN: 'https://app.example' } });
    expect(model.apiKeys).toEqual([{ key: 'sk_test_backend_key', name: 'backend' }, { key: 'pk_test_publishable_1' }]);
    expect(model.corsOrigins).toEqual(['https://app.example']);
    expect(model.planBySlug.get('premium')!.values.get('videos.views')).toMatchObject({ limit: 7 });
    // ${PLANGATE_TEST_TIMEOUT_MS:-75} with the variable set but empty takes the default.
    expect(model.workflowTimeoutMs).toBe(75);
    // ${PLANGATE_TEST_REDIS_URL:-} is empty: no Redis.
    expect(model.store.redis).toBeUndefined();
    const withDefaults = await loadConfig(good('full.yaml'), { env: { ...env, PLANGATE_TEST_REDIS_URL: 'redis://127.0.0.1:6379' } });
    expect(withDefaults.corsOrigins).toEqual(['http://localhost:5173']);
    expect(withDefaults.store.redis).toEqual({ url: 'redis://127.0.0.1:6379', keyPrefix: 'plangate:', commandTimeoutMs: 80, connectTimeoutMs: 1000 });
  });

  it('resolves JWT keys and loads workflows relative to the YAML file', async () => {
    expect(model.jwtIntegrations[0]).toMatchObject({
      name: 'Test JWT',
      claimKey: 'email',
      algorithms: ['RS256'],
      clockToleranceSeconds: 30,
      pemKeys: [{ pem: publicPem }],
    });
    expect(model.jwtIntegrations[1]).toMatchObject({ name: 'Partner', claimKey: 'sub', pemKeys: [] });
    const [provisioning] = model.provisioning.workflows;
    expect(provisioning.file).toBe(good('workflows/provisioning.ts'));
    expect(await provisioning.run({ identity: { jwtClaims: { premium: true } } as never, env: {} })).toEqual(['premium']);
    expect(model.provisioning.rules).toEqual([{ claim: 'tier', oneOf: ['gold', 'platinum'], plans: ['premium'] }]);
    const hello = model.surfaces.get('hello-world')!;
    expect(hello.workflow?.file).toBe(good('workflows/surface.js'));
    expect(hello.consume).toEqual([{ feature: 'widget', property: 'enabled', units: 1 }]);
    expect(hello.components.map((c) => [c.slug, c.selector, c.workflow?.file])).toEqual([['banner', '#banner', good('workflows/banner.ts')]]);
    expect(model.surfaces.get('articles')!.consume).toEqual([{ feature: 'articles', property: 'reads', units: 2 }]);
  });

  it('compiles gateway routes', async () => {
    const routes = model.gateway!.routes;
    const text = (s: PatternSegment) => (s.kind === 'literal' ? s.text : s.kind === 'one' ? '*' : '**');
    expect(routes.map((r) => [r.index, r.pattern.map(text), r.surface, r.bypass])).toEqual([
      [0, ['articles', '*', '**'], 'articles', undefined],
      [1, ['static', '**'], undefined, true],
      [2, ['**'], 'hello-world', undefined],
    ]);
    expect(routes[0].requireRef).toEqual({ feature: 'widget', property: 'premium', units: 1 });
    expect(routes[0].consumeRefs).toEqual([{ feature: 'articles', property: 'reads', units: 1 }]);
    expect(model.gateway).toMatchObject({ listen: { host: '0.0.0.0', port: 8080 }, caseSensitive: false, headerPrefix: 'x-plangate-' });
  });

  it('applies defaults to a minimal config', async () => {
    const model = await loadConfig(good('minimal.yaml'), { env: {} });
    expect(model.featureBySlug.get('widget')!.properties.map((p) => [p.slug, p.fallback])).toEqual([
      ['enabled', 'off'],
      ['premium', false],
      ['label', null],
      ['size', null],
    ]);
    expect(model.planBySlug.get('basic')).toMatchObject({ name: 'basic', assign: 'none' });
    expect(model.autoPlans).toEqual({ anonymous: [], authenticated: [] });
    expect(model.store).toEqual({ failurePolicy: 'open', anonymousRetentionDays: 400, memoryMaxVisitors: 100_000, grants: false });
    expect(model.workflowTimeoutMs).toBe(50);
    expect(model.server).toEqual({
      api: { host: '127.0.0.1', port: 3100 },
      ops: { host: '127.0.0.1', port: 9090 },
      maxBodyBytes: 102_400,
      maxPendingDecisions: 5_000,
      workers: 1,
    });
    expect(model.gateway).toBeUndefined();
    expect(model.surfaces.get('home')).toEqual({ slug: 'home', workflow: undefined, consume: [], components: [], declaresComponents: false });
    expect(model.paywall).toEqual({ returnParam: 'return' });
    expect(model.jwtIntegrations).toEqual([]);
    expect(model.file).toBe(good('minimal.yaml'));
  });

  it('returns a frozen model', async () => {
    const model = await loadConfig(good('minimal.yaml'), { env: {} });
    expect(Object.isFrozen(model)).toBe(true);
    expect(Object.isFrozen(model.features[0].properties[0])).toBe(true);
    expect(Object.isFrozen(model.server.api)).toBe(true);
  });
});
