// Typed errors with stable codes. The API maps `status` to the HTTP status in one place
// (src/api/errors.ts); messages are safe to show to clients.

export type EngineErrorCode =
  | 'invalid-request'
  | 'identity-conflict'
  | 'identity-missing'
  | 'identity-forbidden'
  | 'invalid-token'
  | 'invalid-anonymous-id'
  | 'unknown-surface'
  | 'unknown-counter'
  | 'forbidden'
  | 'store-unavailable'
  | 'overloaded';

const STATUS: Record<EngineErrorCode, number> = {
  'invalid-request': 400,
  'identity-conflict': 400,
  'identity-missing': 400,
  'identity-forbidden': 403,
  'invalid-token': 401,
  'invalid-anonymous-id': 401,
  'unknown-surface': 404,
  'unknown-counter': 404,
  forbidden: 403,
  'store-unavailable': 503,
  overloaded: 503,
};

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly status: number;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.status = STATUS[code];
  }
}
