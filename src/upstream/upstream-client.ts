import type { Identity, UpstreamTokens } from '../domain/capsule-schemas.js';
import { ProblemError } from '../domain/errors.js';

/** The per-login secrets of the proxy's own authorization request to the upstream provider. */
export interface UpstreamLoginSecrets {
  readonly state: string;
  readonly codeVerifier: string;
  readonly nonce: string;
}

export interface UpstreamLoginResult {
  readonly identity: Identity;
  readonly tokens: UpstreamTokens;
}

/**
 * The proxy as one ordinary OAuth client of the upstream provider. Errors are
 * `UpstreamError`s so the HTTP layer can map them without knowing the library.
 */
export interface UpstreamClient {
  /** Discovery (or static endpoints) is done and the client can start logins. */
  ready(): Promise<void>;
  /** The provider's token endpoint (discovered, or configured), where the exchange modes trade users' tokens by default. */
  tokenEndpoint(): Promise<string>;
  authorizationUrl(secrets: UpstreamLoginSecrets, redirectUri: string): Promise<URL>;
  /** Validates the callback, redeems the code and establishes the verified identity. */
  completeLogin(callbackUrl: URL, secrets: UpstreamLoginSecrets, redirectUri: string): Promise<UpstreamLoginResult>;
  refresh(refreshToken: string): Promise<UpstreamTokens>;
  /** RFC 7009 at the provider, where it has a revocation endpoint; 'unsupported' where it has none. */
  revoke(token: string, hint: 'access_token' | 'refresh_token'): Promise<'revoked' | 'unsupported'>;
}

export type UpstreamErrorKind =
  /** The user or the provider refused (access_denied and the like). */
  | 'denied'
  /** The provider rejected a grant: an expired or revoked refresh token, a spent code. */
  | 'invalid_grant'
  /** The provider is unreachable, slow, or answered something unusable. */
  | 'unavailable';

/** What the provider did, by kind; the HTTP layer turns it into its own error with this one as `cause`. */
const UPSTREAM_DESCRIPTION: Record<UpstreamErrorKind, string> = {
  denied: 'The identity provider refused.',
  invalid_grant: 'The identity provider no longer accepts the grant.',
  unavailable: 'The identity provider is unavailable.',
};

/** `code` is the kind; `detail`, for the log only, may quote the provider. */
export class UpstreamError extends ProblemError {
  override readonly name = 'UpstreamError';
  declare readonly code: UpstreamErrorKind;
  declare readonly detail: string;

  constructor(kind: UpstreamErrorKind, detail: string, cause?: unknown) {
    super(kind, UPSTREAM_DESCRIPTION[kind], { detail, cause, message: `upstream ${kind}` });
  }

  /** The code, under the name the upstream clients' callers dispatch on. */
  get kind(): UpstreamErrorKind {
    return this.code;
  }
}
