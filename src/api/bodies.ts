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

const ajv = new Ajv({ allErrors: false, strict: false });

function describe(error: ErrorObject): string {
  const field = [error.instancePath.slice(1).replaceAll('/', '.'), error.params.missingProperty, error.params.additionalProperty]
    .filter((part) => typeof part === 'string' && part !== '')
    .join('.');
  if (error.keyword === 'required') return `${field} is required`;
  if (error.keyword === 'additionalProperties') return `${field} is not a known field`;
  if (field === 'update') return `update must be ${UPDATE_RANGE}`;
  return `${field || 'body'} ${error.message ?? 'is invalid'}`;
}

export function bodyValidator<S extends TSchema>(schema: S): (body: unknown) => Static<S> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body) => {
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError(400, 'the request body must be a JSON object');
    }
    if (!validate(body)) throw new ApiError(400, `invalid request body: ${describe(validate.errors![0])}`);
    return body as Static<S>;
  };
}
