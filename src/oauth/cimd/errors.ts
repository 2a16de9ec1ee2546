/**
 * Why a URL client_id could not be used. `message` is wire-safe; `detail` (the fetch
 * error code, the offending document member) is for the log only.
 */
export type ClientMetadataErrorCode = 'invalid_client_id' | 'fetch_failed' | 'invalid_document' | 'too_many_fetches';

export class ClientMetadataError extends Error {
  override readonly name = 'ClientMetadataError';

  constructor(
    readonly code: ClientMetadataErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The requesting address has caused its share of document fetches; nothing was fetched. */
export class ClientMetadataFetchLimited extends ClientMetadataError {
  constructor(readonly retryAfterSeconds: number) {
    super('too_many_fetches', 'Too many client metadata documents were fetched for this address.', `fetch limit reached; retry in ${retryAfterSeconds}s`);
  }
}

/**
 * Why a private_key_jwt client assertion was refused. The lead maps every code to
 * `invalid_client` (401); `detail` is for the log only.
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

export class ClientAssertionError extends Error {
  override readonly name = 'ClientAssertionError';

  constructor(
    readonly code: ClientAssertionErrorCode,
    readonly detail?: string,
  ) {
    super('Client authentication failed.');
  }
}
