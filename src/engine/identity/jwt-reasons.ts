// Maps what jose throws to our stable reason codes, so callers branch on a code, never on a message.
import { errors } from 'jose';
import type { JwtRejectReason } from './jwt-verifier.js';

/** The claim a jose claim-validation error names (`exp`, `nbf`, `iss`, ...), if any. */
function claimOf(error: unknown): { claim?: string; why?: string } {
  if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) {
    return { claim: error.claim, why: error.reason };
  }
  return {};
}

export function reasonFromJoseError(error: unknown): JwtRejectReason {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm-not-allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad-signature';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'unknown-key';
    case 'ERR_JWT_EXPIRED':
      // jose reports `maxTokenAge` overruns as an expiry of the `iat` claim.
      return claimOf(error).claim === 'iat' ? 'too-old' : 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimReason(claimOf(error));
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, ERR_JOSE_NOT_SUPPORTED (unknown `crit`), key-type TypeErrors.
      return 'malformed';
  }
}

function claimReason({ claim, why }: { claim?: string; why?: string }): JwtRejectReason {
  if (claim === 'iss') return 'issuer';
  if (claim === 'aud') return 'audience';
  // A time claim that is not a number is a broken token, not a timing problem.
  if (why === 'invalid') return 'malformed';
  if (why === 'missing') return 'missing-claim';
  if (claim === 'nbf' || claim === 'iat') return 'not-yet-valid';
  return 'malformed';
}
