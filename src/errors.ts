// Every error plangate answers with, by stable code: its HTTP status and what it means. The engine's
// EngineError, the API's ApiError and the gateway's own error pages all take their status from here,
// so a code means one thing everywhere and callers branch on the code, never on a message.
// docs/api.md "Errors" carries the API's table, generated from here (test/errors.test.ts checks it).

interface ErrorInfo {
  status: number;
  /** Who answers with it: the decision API (and the engine behind it) or the gateway itself. */
  from: 'api' | 'gateway';
  description: string;
}

export const ERROR_CODES = {
  // The decision API (and the engine behind it).
  'invalid-json': { status: 400, from: 'api', description: 'the body is not JSON' },
  'invalid-request': { status: 400, from: 'api', description: 'the body is not an object or fails validation (the field is named)' },
  'identity-missing': { status: 400, from: 'api', description: 'the identity has none of the four modes' },
  'identity-conflict': { status: 400, from: 'api', description: 'the identity has more than one mode' },
  'missing-api-key': { status: 401, from: 'api', description: 'no `Authorization: Bearer` header with a secret (sk_) or publishable (pk_) key' },
  'unknown-api-key': { status: 401, from: 'api', description: 'a key the config does not declare' },
  'invalid-token': { status: 401, from: 'api', description: 'a JWT that failed verification, without the fallback flag' },
  'invalid-anonymous-id': {
    status: 401,
    from: 'api',
    description: 'under `api.anonymousIds: signed`, a publishable key sent an anonymous id this server did not sign',
  },
  'identity-forbidden': { status: 403, from: 'api', description: '`userIdentifier` from a publishable key' },
  forbidden: { status: 403, from: 'api', description: 'a publishable key doing what only secret keys may (counter updates, request context, explain)' },
  'admin-scope-required': { status: 403, from: 'api', description: 'an admin endpoint called with a key without `scopes: [admin]` (publishable keys never have it)' },
  'origin-not-allowed': { status: 403, from: 'api', description: 'a CORS preflight from an origin not in `cors.origins`' },
  'unknown-surface': { status: 404, from: 'api', description: 'a `surfaceSlug` the config does not declare' },
  'unknown-counter': { status: 404, from: 'api', description: 'a `counterId` no property counts on' },
  'unknown-plan': { status: 404, from: 'api', description: 'an admin request naming a plan the config does not declare' },
  'not-found': { status: 404, from: 'api', description: 'no such endpoint (admin endpoints are absent on the gateway mount unless `api.adminOnGatewayMount`)' },
  'method-not-allowed': { status: 405, from: 'api', description: 'a method the endpoint does not take (the answer\'s `Allow` names the one it does)' },
  'grants-disabled': { status: 409, from: 'api', description: 'a grant while the config does not read grants (`store.grants: false`)' },
  'idempotency-in-progress': {
    status: 409,
    from: 'api',
    description: 'the same `Idempotency-Key` is still being acted on by another request (it waited 10 s): retry later for its answer',
  },
  'idempotency-key-reused': { status: 422, from: 'api', description: 'an `Idempotency-Key` sent again with another endpoint or body' },
  'body-too-large': { status: 413, from: 'api', description: 'a body over `server.maxBodyBytes`' },
  'unsupported-encoding': { status: 415, from: 'api', description: 'a body that is not UTF-8' },
  'internal-error': { status: 500, from: 'api', description: 'anything unexpected (logged as `api-internal-error`)' },
  'store-unavailable': { status: 503, from: 'api', description: 'a counter update while the meter store cannot answer' },
  overloaded: { status: 503, from: 'api', description: 'more decisions in progress than `server.maxPendingDecisions`: retry after the `Retry-After` seconds' },

  // The gateway's own answers (docs/gateway.md); `path-<reason>` codes carry the canonical-path reason.
  'path-rejected': { status: 400, from: 'gateway', description: 'a request target refused by canonicalisation; the code is `path-<reason>`' },
  'decision-failed': { status: 500, from: 'gateway', description: 'the gateway could not decide the request' },
  'upstream-unreachable': { status: 502, from: 'gateway', description: 'the upstream refused or dropped the connection' },
  'prefetch-refused': { status: 503, from: 'gateway', description: 'a browser prefetch of a guarded page, refused on purpose' },
  'upstream-timeout': { status: 504, from: 'gateway', description: 'no response head from the upstream within `headerTimeoutMs`' },

  // The forward-auth decision endpoint (docs/forward-auth.md).
  'forward-auth-bad-request': { status: 400, from: 'gateway', description: "a decision request without the original method or target in its proxy's headers" },
  'forward-auth-untrusted-peer': { status: 403, from: 'gateway', description: 'a decision request from an address not in `forwardAuth.proxies`' },
  'forward-auth-unsupported': {
    status: 500,
    from: 'gateway',
    description: "a verdict this proxy cannot carry out (a workflow's `http` modify form; a 2xx answer through Caddy, Traefik or Envoy)",
  },
  'denial-token-invalid': { status: 500, from: 'gateway', description: "nginx's denial location got no valid denial token (missing, altered or older than 60 s)" },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status of a code: the one mapping, used by every layer. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** The Markdown table of the codes one side answers with, as the docs carry it. */
export function errorTable(from: ErrorInfo['from']): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[])
    .filter((code) => ERROR_CODES[code].from === from)
    .map((code) => `| \`${code}\` | ${ERROR_CODES[code].status} | ${ERROR_CODES[code].description} |`);
  return ['| code | status | when |', '|---|---|---|', ...rows].join('\n');
}
