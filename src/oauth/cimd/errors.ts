import { ProblemError } from '../../domain/errors.js';

/**
 * Why a URL client_id could not be used. `description` is wire-safe; `detail` (the fetch
 * error code, the offending document member) is for the log only.
 */
export type ClientMetadataErrorCode = 'invalid_client_id' | 'fetch_failed' | 'invalid_document' | 'too_many_fetches';

export class ClientMetadataError extends ProblemError {
  override readonly name = 'ClientMetadataError';
  declare readonly code: ClientMetadataErrorCode;

  constructor(code: ClientMetadataErrorCode, description: string, detail?: string, cause?: unknown) {
    super(code, description, { detail, cause });
  }
}

/** The requesting address has caused its share of document fetches; nothing was fetched. */
export class ClientMetadataFetchLimited extends ClientMetadataError {
  constructor(readonly retryAfterSeconds: number) {
    super('too_many_fetches', 'Too many client metadata documents were fetched for this address.', `fetch limit reached; retry in ${retryAfterSeconds}s`);
  }
}

/**
 * Why a private_key_jwt client assertion was refused. The token endpoint answers every code
 * with `invalid_client` (401) and this error as its cause; `detail` is for the log only.
 */
export type ClientAssertionErrorCode =
  | 'invalid_assertion_type'
  | 'malformed'
  | 'wrong_auth_method'
  | 'unsupported_alg'
  | 'keys_unavailable'
  | 'unknown_key'
  | 'bad_signature'
  | 'invalid_claims'
  | 'expired'
  | 'lifetime_too_long'
  | 'replayed';

export class ClientAssertionError extends ProblemError {
  override readonly name = 'ClientAssertionError';
  declare readonly code: ClientAssertionErrorCode;

  constructor(code: ClientAssertionErrorCode, detail?: string, cause?: unknown) {
    super(code, 'Client authentication failed.', { detail, cause });
  }
}
