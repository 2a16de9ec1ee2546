import type { Identity, UpstreamTokens } from '../domain/capsule-schemas.js';

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

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    /** For the log only; may quote the provider. */
    readonly detail: string,
  ) {
    super(`upstream ${kind}`);
    this.name = 'UpstreamError';
  }
}
