// Request bodies of the decision API, as JSON Schemas (TypeBox) validated with ajv. A failing body
// gets a 400 that names the field.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { UPDATE_RANGE } from '../engine/create-engine.js';
import { MAX_UNITS_PER_CALL } from '../engine/meters/store.js';
import { ApiError } from './errors.js';

const Identity = Type.Object(
  {
    anonymousIdentifier: Type.Optional(Type.String()),
    userJwt: Type.Optional(Type.String()),
    userIdentifier: Type.Optional(Type.String()),
    createAnonymousIdentifier: Type.Optional(Type.Boolean()),
    createAnonymousIdentifierFallback: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const Resource = Type.Object({ id: Type.Optional(Type.String({ maxLength: 2048 })), meta: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });
const Context = Type.Record(Type.String(), Type.Unknown());

export const SurfaceDecisionBody = Type.Object({
  surfaceSlug: Type.String({ minLength: 1 }),
  identity: Identity,
  resource: Type.Optional(Resource),
  http: Type.Optional(Context),
  cloudflare: Type.Optional(Context),
  fastly: Type.Optional(Context),
  dryRun: Type.Optional(Type.Boolean()),
});
export const AccessCheckBody = Type.Object({
  identity: Identity,
  resource: Type.Optional(Resource),
  http: Type.Optional(Context),
  cloudflare: Type.Optional(Context),
  fastly: Type.Optional(Context),
});
export const CounterUpdateBody = Type.Object({
  identity: Identity,
  counterId: Type.String({ minLength: 1 }),
  update: Type.Optional(Type.Integer({ not: { const: 0 }, minimum: -MAX_UNITS_PER_CALL, maximum: MAX_UNITS_PER_CALL })),
  resourceId: Type.Optional(Type.String({ maxLength: 2048 })),
});

// The admin endpoints (docs/admin.md). A visitor is named by an identity, as in a decision.
export const GrantBody = Type.Object(
  {
    identity: Identity,
    plan: Type.String({ minLength: 1 }),
    expiresAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export const RevokeBody = Type.Object({ identity: Identity, plan: Type.String({ minLength: 1 }) }, { additionalProperties: false });
export const ImportBody = Type.Object({ grants: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 100_000 }) }, { additionalProperties: false });
export const MeterResetBody = Type.Object({ identity: Identity, counterId: Type.String({ minLength: 1 }) }, { additionalProperties: false });
export const MeterAdjustBody = Type.Object(
  {
    identity: Identity,
    counterId: Type.String({ minLength: 1 }),
    units: Type.Integer({ not: { const: 0 }, minimum: -MAX_UNITS_PER_CALL, maximum: MAX_UNITS_PER_CALL }),
  },
  { additionalProperties: false },
);
export const ExplainBody = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: 8192, pattern: '^/' }),
    method: Type.Optional(Type.String({ pattern: '^[A-Za-z]+$', maxLength: 16 })),
    identity: Type.Optional(
      Type.Object(
        { userIdentifier: Type.Optional(Type.String()), anonymousIdentifier: Type.Optional(Type.String()), userJwt: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export const ForgetBody = Type.Object({ identity: Identity }, { additionalProperties: false });

const ajv = new Ajv({ allErrors: false, strict: false });

function describe(error: ErrorObject): string {
  const field = [error.instancePath.slice(1).replaceAll('/', '.'), error.params.missingProperty, error.params.additionalProperty]
    .filter((part) => typeof part === 'string' && part !== '')
    .join('.');
  if (error.keyword === 'required') return `${field} is required`;
  if (error.keyword === 'additionalProperties') return `${field} is not a known field`;
  if (field === 'update') return `update must be ${UPDATE_RANGE}`;
  if (field === 'units') return `units must be ${UPDATE_RANGE}`;
  return `${field || 'body'} ${error.message ?? 'is invalid'}`;
}

export function bodyValidator<S extends TSchema>(schema: S): (body: unknown) => Static<S> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body) => {
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError('invalid-request', 'the request body must be a JSON object');
    }
    if (!validate(body)) throw new ApiError('invalid-request', `invalid request body: ${describe(validate.errors![0])}`);
    return body as Static<S>;
  };
}
