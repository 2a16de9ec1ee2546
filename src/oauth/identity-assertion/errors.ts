import { ProblemError } from '../../domain/errors.js';
import type { SignedJwtFailure } from '../signed-jwt.js';

/**
 * Why an identity assertion (ID-JAG) was refused. The token endpoint answers every code with
 * `invalid_grant` and this error as its cause; `detail` is for the log only.
 */
export type IdentityAssertionErrorCode = SignedJwtFailure | 'wrong_type' | 'unknown_issuer' | 'wrong_client' | 'replayed';

export class IdentityAssertionError extends ProblemError {
  override readonly name = 'IdentityAssertionError';
  declare readonly code: IdentityAssertionErrorCode;

  constructor(code: IdentityAssertionErrorCode, detail?: string, cause?: unknown) {
    super(code, 'The identity assertion is invalid.', { detail, cause });
  }
}
