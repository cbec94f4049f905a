// The JSON Schema of plangate.yaml, written with TypeBox so that the same object is the ajv schema
// and the source of the config's TypeScript types (`Static<typeof X>`). Nothing else declares them.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { JWKS_DEFAULTS } from '../engine/identity/jwt-keys.js';
import { MAX_COUNTER_VALUE, MAX_UNITS_PER_CALL } from '../engine/meters/store.js';

const strict = { additionalProperties: false } as const;
const slugPattern = '^[a-z0-9]+(-[a-z0-9]+)*$';

export const Slug = Type.String({ pattern: slugPattern, maxLength: 64, description: 'a slug: lowercase letters, digits and single hyphens' });
const Period = Type.Union([Type.Literal('lifetime'), Type.Literal('day'), Type.Literal('week'), Type.Literal('month'), Type.Literal('year')], {
  description: 'one of lifetime, day, week, month, year',
});
const FilePath = Type.String({ minLength: 1, description: 'a file path, relative to the YAML file' });
const Millis = (defaultMs: number, max = 600_000) => Type.Integer({ minimum: 1, maximum: max, default: defaultMs });

// ---- API keys and CORS -------------------------------------------------------------------------
export const ApiKeySchema = Type.Object(
  {
    key: Type.String({
      pattern: '^(sk|pk)_[A-Za-z0-9_\\-]{8,}$',
      description: 'sk_... (secret) or pk_... (publishable), at least 8 characters after the prefix',
    }),
    name: Type.Optional(Type.String()),
    scopes: Type.Optional(
      Type.Array(Type.Literal('admin'), {
        uniqueItems: true,
        description: 'a list of scopes: admin (the admin API, docs/admin.md; secret keys with a name only)',
      }),
    ),
  },
  strict,
);

// ---- Secrets with rotation (header signing, anonymous ids) ---------------------------------------
const secretKeys = (description: string) =>
  Type.Array(
    Type.Object(
      {
        id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'a key id of letters, digits, dot, underscore or hyphen' }),
        secret: Type.String({ minLength: 32, description: 'at least 32 bytes of random text, e.g. from `openssl rand -base64 48`' }),
      },
      strict,
    ),
    { minItems: 1, description },
  );

/** Signs the anonymous ids the gateway and the API hand out (docs/gateway.md "Anonymous ids"). */
export const AnonymousIdsSchema = Type.Object(
  {
    keys: secretKeys('the current key first, then the previous key, accepted (and re-issued under the current one) during rotation'),
  },
  strict,
);

// ---- JWT integrations --------------------------------------------------------------------------
const Algorithm = Type.Union(
  ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'].map((a) => Type.Literal(a)),
  { description: 'a JWS algorithm: RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, HS256/384/512' },
);
export const JwtIntegrationSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    algorithms: Type.Array(Algorithm, { minItems: 1, uniqueItems: true }),
    publicKeys: Type.Optional(
      Type.Array(
        Type.Object(
          {
            pem: Type.Optional(Type.String({ minLength: 1 })),
            file: Type.Optional(FilePath),
            kid: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          },
          strict,
        ),
        { minItems: 1 },
      ),
    ),
    publicKeyFile: Type.Optional(FilePath),
    publicKey: Type.Optional(Type.String({ minLength: 1, description: 'a PEM public key' })),
    jwksUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'an http(s) URL of a JWK Set' })),
    jwks: Type.Optional(
      Type.Object(
        {
          cooldownMs: Millis(JWKS_DEFAULTS.cooldownMs, 86_400_000),
          maxAgeMs: Millis(JWKS_DEFAULTS.maxAgeMs, 604_800_000),
          timeoutMs: Millis(JWKS_DEFAULTS.timeoutMs),
        },
        strict,
      ),
    ),
    secret: Type.Optional(Type.String({ minLength: 1, description: 'an HMAC secret (UTF-8), at least as long as the hash (32 bytes for HS256)' })),
    claimKey: Type.String({ minLength: 1, default: 'sub' }),
    issuer: Type.Optional(Type.String({ minLength: 1 })),
    audience: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })])),
    clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
    requiredClaims: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true })),
    maxTokenAgeSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    identifierNamespace: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._-]{1,64}$',
        description: 'letters, digits, dot, underscore or hyphen; the identifier becomes <namespace>:<claim value>',
      }),
    ),
  },
  strict,
);

// ---- Features ----------------------------------------------------------------------------------
const Conflict = Type.Union([Type.Literal('highest'), Type.Literal('lowest')], { description: 'highest or lowest' });
export const PropertySchema = Type.Object(
  {
    type: Type.Union([Type.Literal('boolean'), Type.Literal('number'), Type.Literal('string'), Type.Literal('meterable')], {
      description: 'one of boolean, number, string, meterable',
    }),
    fallback: Type.Optional(Type.Union([Type.Boolean(), Type.Number(), Type.String(), Type.Null()])),
    conflict: Type.Optional(Conflict),
    counterId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  strict,
);
export const FeatureSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    featureId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_\\-]{1,100}$' })),
    properties: Type.Optional(Type.Record(Type.String(), PropertySchema)),
  },
  strict,
);

// ---- Plans -------------------------------------------------------------------------------------
export const MeterSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 0, maximum: MAX_COUNTER_VALUE, description: `a whole number of units, 0 to ${MAX_COUNTER_VALUE}` }),
    period: Period,
    // Optional, not `default: false`: ajv applies no defaults inside a union (plan values are one);
    // compile.ts fills in false.
    uniqueResources: Type.Optional(Type.Boolean({ description: 'default false' })),
    allowPartialConsumption: Type.Optional(Type.Boolean({ description: 'default false' })),
  },
  strict,
);
export const PlanValueSchema = Type.Union([Type.Literal('on'), Type.Literal('off'), MeterSchema, Type.Boolean(), Type.Number(), Type.String(), Type.Null()]);
export const PlanSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    assign: Type.Optional(
      Type.Union([Type.Literal('anonymous'), Type.Literal('authenticated'), Type.Literal('none')], {
        description: 'anonymous, authenticated or none',
      }),
    ),
    features: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), PlanValueSchema))),
  },
  strict,
);

// ---- Provisioning ------------------------------------------------------------------------------
export const ProvisioningRuleSchema = Type.Object(
  {
    claim: Type.String({ minLength: 1, description: 'a top-level claim name' }),
    equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
    oneOf: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { minItems: 1 })),
    exists: Type.Optional(Type.Boolean()),
    plans: Type.Array(Slug, { minItems: 1 }),
  },
  strict,
);
export const ProvisioningSchema = Type.Object(
  {
    workflows: Type.Optional(Type.Array(FilePath)),
    rules: Type.Optional(Type.Array(ProvisioningRuleSchema)),
  },
  strict,
);

// ---- Surfaces ----------------------------------------------------------------------------------
const ConsumeRef = Type.String({ pattern: '^[a-z0-9-]+\\.[a-z0-9-]+$', description: 'feature.property' });
export const ConsumeItemSchema = Type.Union([
  ConsumeRef,
  // `units` is optional (compile.ts makes it 1): ajv applies no defaults inside a union.
  Type.Object(
    {
      property: ConsumeRef,
      units: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_UNITS_PER_CALL, description: `a whole number, 1 to ${MAX_UNITS_PER_CALL} (default 1)` })),
    },
    strict,
  ),
]);
// A component declared in YAML (docs/components.md "Components in YAML"): a condition on the
// decision and operations whose insertions are templates (a file or inline HTML).
export const InsertionSchema = Type.Object(
  {
    template: Type.Optional(FilePath),
    html: Type.Optional(Type.String({ description: 'inline HTML with {{ placeholders }}' })),
  },
  { ...strict, description: 'an insertion: { template: file } or { html: "..." }' },
);
const Insertions = Type.Union([InsertionSchema, Type.Array(InsertionSchema, { minItems: 1 })], {
  description: 'an insertion ({ template: file } or { html: "..." }) or a list of them',
});
export const ConditionSchema = Type.Object(
  {
    denied: Type.Optional(
      Type.Union([Type.Boolean(), Type.Literal('consumption'), Type.Literal('requirement')], { description: 'true, false, consumption or requirement' }),
    ),
    property: Type.Optional(ConsumeRef),
    equals: Type.Optional(Type.Union([Type.Boolean(), Type.Number(), Type.String(), Type.Null()])),
    remainingBelow: Type.Optional(Type.Integer({ minimum: 1, description: 'a whole number, 1 or more' })),
    plans: Type.Optional(Type.Array(Slug, { minItems: 1 })),
    withoutPlans: Type.Optional(Type.Array(Slug, { minItems: 1 })),
  },
  strict,
);
const declaredComponentFields = {
  selector: Type.String({ minLength: 1, description: 'a CSS selector' }),
  when: Type.Optional(ConditionSchema),
  before: Type.Optional(Insertions),
  prepend: Type.Optional(Insertions),
  append: Type.Optional(Insertions),
  after: Type.Optional(Insertions),
  remove: Type.Optional(Type.Boolean()),
  replaceRange: Type.Optional(
    Type.Object(
      {
        fromMarker: Type.Optional(Type.String({ minLength: 1, description: 'a CSS selector inside the component' })),
        toMarker: Type.Optional(Type.String({ minLength: 1, description: 'a CSS selector inside the component' })),
        replaceWith: Type.Optional(Insertions),
      },
      strict,
    ),
  ),
};
export const ComponentSchema = Type.Object({ ...declaredComponentFields, workflow: Type.Optional(FilePath) }, strict);
/** A route's components are declared only (a workflow belongs to a surface's component). */
export const RouteComponentSchema = Type.Object(declaredComponentFields, strict);
export const SurfaceSchema = Type.Object(
  {
    workflow: Type.Optional(FilePath),
    consume: Type.Optional(Type.Array(ConsumeItemSchema)),
    components: Type.Optional(Type.Record(Type.String(), ComponentSchema)),
  },
  strict,
);

// ---- Store -------------------------------------------------------------------------------------
const HostPort = Type.Object({ host: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) }, strict);
export const RedisSchema = Type.Object(
  {
    url: Type.Optional(Type.String({ description: 'redis:// or rediss:// URL; empty means no Redis' })),
    sentinels: Type.Optional(Type.Array(HostPort, { minItems: 1 })),
    name: Type.Optional(Type.String({ minLength: 1, description: 'the Sentinel master name' })),
    cluster: Type.Optional(Type.Array(HostPort, { minItems: 1 })),
    password: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    tls: Type.Optional(Type.Boolean()),
    keyPrefix: Type.String({ default: 'plangate:' }),
    commandTimeoutMs: Millis(80, 10_000),
    connectTimeoutMs: Millis(1_000, 60_000),
  },
  strict,
);
export const StoreSchema = Type.Object(
  {
    redis: Type.Optional(RedisSchema),
    failurePolicy: Type.Union([Type.Literal('open'), Type.Literal('closed')], { default: 'open', description: 'open or closed' }),
    anonymousRetentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 400 }),
    memoryMaxVisitors: Type.Integer({ minimum: 1, default: 100_000 }),
    grants: Type.Boolean({
      default: false,
      description: 'true or false: read plan grants (docs/admin.md) in every decision, in the same store call as the meters',
    }),
  },
  strict,
);

// ---- Gateway -----------------------------------------------------------------------------------
export const RouteSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/', description: 'a path pattern starting with /: literal segments, * (one segment), ** (the rest)' }),
    surface: Type.Optional(Slug),
    bypass: Type.Optional(Type.Boolean()),
    methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { minItems: 1 })),
    require: Type.Optional(ConsumeRef),
    consume: Type.Optional(Type.Array(ConsumeItemSchema)),
    resourceId: Type.Optional(Type.Union([Type.Literal('path'), Type.Literal('none')], { description: 'path or none' })),
    deny: Type.Optional(
      Type.Object(
        {
          action: Type.Union([Type.Literal('paywall'), Type.Literal('redirect'), Type.Literal('forward')], { description: 'paywall, redirect or forward' }),
          status: Type.Optional(Type.Integer({ minimum: 300, maximum: 599 })),
          template: Type.Optional(FilePath),
          url: Type.Optional(Type.String({ minLength: 1 })),
          returnParam: Type.Optional(Type.String({ minLength: 1 })),
          mode: Type.Optional(
            Type.Union([Type.Literal('hard'), Type.Literal('soft')], {
              description:
                'hard (the default: the paywall or redirect is the answer) or soft (forwarded without consuming; the components cut the page, else this paywall or redirect)',
            }),
          ),
        },
        strict,
      ),
    ),
    bearer: Type.Optional(Type.Boolean()),
    components: Type.Optional(Type.Record(Type.String(), RouteComponentSchema)),
    enforce: Type.Optional(Type.Boolean({ description: 'false: report-only, decide and count "would deny" but never block, cut or consume' })),
  },
  strict,
);
export const GatewaySchema = Type.Object(
  {
    listen: Type.Object(
      { host: Type.String({ default: '0.0.0.0' }), port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }) },
      { ...strict, default: {} },
    ),
    upstream: Type.String({ pattern: '^https?://', description: 'the upstream origin, http(s)://host:port' }),
    routes: Type.Array(RouteSchema, { minItems: 1 }),
    enforce: Type.Boolean({ default: true, description: 'false: report-only on every route that does not set its own' }),
    caseSensitive: Type.Boolean({ default: false }),
    allowPathParameters: Type.Boolean({ default: false }),
    trustProxy: Type.Union([Type.Boolean(), Type.Integer({ minimum: 0 })], { default: false }),
    headerPrefix: Type.String({ pattern: '^[a-z0-9-]+-$', default: 'x-plangate-' }),
    injectDecision: Type.Boolean({ default: false }),
    jwtCookie: Type.String({ default: 'plangate_jwt' }),
    anonymousCookie: Type.String({ default: 'plangate_anon' }),
    anonymousMetering: Type.Union([Type.Literal('cookie'), Type.Literal('cookie+ip')], { default: 'cookie' }),
    newAnonymousIds: Type.Object(
      {
        perNetwork: Type.Integer({
          minimum: 1,
          maximum: 1_000_000_000,
          default: 100,
          description: 'new anonymous ids one client network may get per window, 1 or more',
        }),
        total: Type.Integer({
          minimum: 1,
          maximum: 1_000_000_000,
          default: 100_000,
          description: 'new anonymous ids all networks together may get per window, 1 or more',
        }),
        windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 3_600, description: 'the budget window in seconds, 1 to 86400' }),
      },
      { ...strict, default: {} },
    ),
    invalidJwt: Type.Union([Type.Literal('anonymous'), Type.Literal('reject')], { default: 'anonymous' }),
    forwardCredentials: Type.Boolean({ default: true }),
    paywallTemplate: Type.Optional(FilePath),
    headerTimeoutMs: Millis(30_000),
    idleTimeoutMs: Millis(120_000, 3_600_000),
    websockets: Type.Object(
      {
        maxPerClient: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 256,
          description: 'open websockets per client network (an IPv4 address, an IPv6 /56), handshakes included',
        }),
        idleTimeoutMs: Type.Integer({
          minimum: 1_000,
          maximum: 86_400_000,
          default: 300_000,
          description: 'milliseconds an open websocket may stay silent both ways before it is closed (1 s to 1 day)',
        }),
      },
      { ...strict, default: {} },
    ),
    forwardAuth: Type.Optional(
      Type.Object(
        {
          pathPrefix: Type.String({
            pattern: '^(/[A-Za-z0-9._~-]+)+$',
            default: '/auth',
            description: 'a path such as /auth: the decision endpoints are <pathPrefix>/nginx, /caddy, /traefik and /envoy',
          }),
          proxies: Type.Array(Type.String({ minLength: 1 }), {
            minItems: 1,
            default: ['loopback'],
            description: 'addresses or CIDR ranges (or loopback, linklocal, uniquelocal) of the proxies whose original-request headers are trusted',
          }),
          originalMethodHeader: Type.String({ pattern: '^[a-z0-9-]+$', default: 'x-original-method', description: 'a lowercase header name' }),
          originalUriHeader: Type.String({ pattern: '^[a-z0-9-]+$', default: 'x-original-uri', description: 'a lowercase header name' }),
          unsignedHeaders: Type.Boolean({
            default: false,
            description: 'true: run without gateway.signing (only when the proxy removes every client-sent header with the prefix itself)',
          }),
        },
        strict,
      ),
    ),
    signing: Type.Optional(
      Type.Object(
        {
          keys: secretKeys('the current key first, then previous keys still accepted by upstreams during rotation'),
          header: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$', description: 'a lowercase header name' })),
        },
        strict,
      ),
    ),
  },
  strict,
);

/** The decision API's rules (its listener is `server.api`). */
export const ApiSchema = Type.Object(
  {
    anonymousIds: Type.Union([Type.Literal('unsigned'), Type.Literal('signed')], { default: 'unsigned', description: 'unsigned or signed' }),
    adminOnGatewayMount: Type.Boolean({
      default: false,
      description: 'true or false: also answer the admin endpoints on the API mounted on the gateway port (server.api.mountPath)',
    }),
  },
  strict,
);

export const ServerSchema = Type.Object(
  {
    api: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 3100 }),
        mountPath: Type.Optional(Type.String({ pattern: '^/' })),
      },
      { ...strict, default: {} },
    ),
    ops: Type.Object(
      { host: Type.String({ default: '127.0.0.1' }), port: Type.Integer({ minimum: 0, maximum: 65535, default: 9090 }) },
      { ...strict, default: {} },
    ),
    maxBodyBytes: Type.Integer({ minimum: 1024, default: 102_400 }),
    maxPendingDecisions: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 5_000,
      description: 'a whole number from 1 to 1000000: decisions this process may have in progress before it answers 503 with Retry-After',
    }),
    workers: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 1,
      description: 'a whole number from 1 to 64: gateway worker processes sharing the listeners (more than 1 needs Redis meters; docs/operations.md "Worker processes")',
    }),
  },
  strict,
);

/** Where paywall pages and components send readers (the return path is added as a query parameter). */
export const PaywallSchema = Type.Object(
  {
    loginUrl: Type.Optional(Type.String({ minLength: 1, description: 'the sign-in page, a path or an http(s) URL' })),
    plansUrl: Type.Optional(Type.String({ minLength: 1, description: 'the plans page, a path or an http(s) URL' })),
    returnParam: Type.String({ minLength: 1, default: 'return', description: 'the query parameter that carries the return path' }),
  },
  strict,
);

// ---- The whole file ----------------------------------------------------------------------------
export const ConfigSchema = Type.Object(
  {
    version: Type.Literal(1, { description: 'the number 1' }),
    apiKeys: Type.Optional(Type.Array(ApiKeySchema)),
    api: Type.Optional(ApiSchema),
    anonymousIds: Type.Optional(AnonymousIdsSchema),
    cors: Type.Optional(Type.Object({ origins: Type.Array(Type.String({ minLength: 1 })) }, strict)),
    jwt: Type.Optional(Type.Object({ integrations: Type.Array(JwtIntegrationSchema) }, strict)),
    features: Type.Record(Type.String(), FeatureSchema),
    plans: Type.Record(Type.String(), PlanSchema),
    provisioning: Type.Optional(ProvisioningSchema),
    surfaces: Type.Record(Type.String(), SurfaceSchema),
    paywall: Type.Optional(PaywallSchema),
    store: Type.Optional(StoreSchema),
    workflows: Type.Optional(Type.Object({ timeoutMs: Millis(50, 60_000) }, strict)),
    server: Type.Optional(ServerSchema),
    gateway: Type.Optional(GatewaySchema),
  },
  strict,
);

export type ConfigFile = Static<typeof ConfigSchema>;
export type ApiKeyConfig = Static<typeof ApiKeySchema>;
export type JwtIntegrationConfig = Static<typeof JwtIntegrationSchema>;
export type FeatureConfig = Static<typeof FeatureSchema>;
export type PropertyConfig = Static<typeof PropertySchema>;
export type MeterConfig = Static<typeof MeterSchema>;
export type PlanConfig = Static<typeof PlanSchema>;
export type PlanValueConfig = Static<typeof PlanValueSchema>;
export type ProvisioningRuleConfig = Static<typeof ProvisioningRuleSchema>;
export type SurfaceConfig = Static<typeof SurfaceSchema>;
export type ComponentConfig = Static<typeof ComponentSchema>;
export type RouteComponentConfig = Static<typeof RouteComponentSchema>;
export type InsertionConfig = Static<typeof InsertionSchema>;
export type ConditionConfig = Static<typeof ConditionSchema>;
export type PaywallConfig = Static<typeof PaywallSchema>;
export type ConsumeItemConfig = Static<typeof ConsumeItemSchema>;
export type StoreConfig = Static<typeof StoreSchema>;
export type RedisConfig = Static<typeof RedisSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type GatewayConfig = Static<typeof GatewaySchema>;
export type ServerConfig = Static<typeof ServerSchema>;
export type ApiConfig = Static<typeof ApiSchema>;
export type AnonymousIdsConfig = Static<typeof AnonymousIdsSchema>;
export type AnySchema = TSchema;
