// The engine's typed errors, with stable codes from the one catalogue (src/errors.ts), which also
// gives their HTTP status; messages are safe to show to clients.
import { statusOf, type ErrorCode } from '../errors.js';

export type EngineErrorCode = Extract<
  ErrorCode,
  | 'invalid-request'
  | 'identity-conflict'
  | 'identity-missing'
  | 'identity-forbidden'
  | 'invalid-token'
  | 'invalid-anonymous-id'
  | 'unknown-surface'
  | 'unknown-counter'
  | 'unknown-plan'
  | 'grants-disabled'
  | 'forbidden'
  | 'store-unavailable'
  | 'overloaded'
>;

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly status: number;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.status = statusOf(code);
  }
}
