import * as oauth from 'oauth4webapi';
import type { Identity, UpstreamTokens } from '../crypto/capsule-schemas.js';
import { isLoopbackHost } from '../config/primitives.js';
import { UpstreamError, type UpstreamClient, type UpstreamLoginSecrets } from './upstream-client.js';

export interface OidcUpstreamOptions {
  readonly issuer?: string;
  readonly authorizationUrl?: string;
  readonly tokenUrl?: string;
  readonly userinfoUrl?: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  readonly tokenAuthMethod: 'client_secret_basic' | 'client_secret_post';
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly clock?: () => number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function expiresAt(nowSeconds: number, expiresIn: number | undefined): number | undefined {
  return typeof expiresIn === 'number' && expiresIn > 0 ? nowSeconds + expiresIn : undefined;
}

function toUpstreamError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof oauth.AuthorizationResponseError) {
    return new UpstreamError(error.error === 'access_denied' ? 'denied' : 'unavailable', `authorization response error ${error.error}`);
  }
  if (error instanceof oauth.ResponseBodyError) {
    return new UpstreamError(error.error === 'invalid_grant' ? 'invalid_grant' : 'unavailable', `token endpoint error ${error.error} (${error.status})`);
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new UpstreamError('unavailable', message);
}

/** An OpenID Connect (or plain OAuth 2.0 with static endpoints) upstream, driven through oauth4webapi. */
export class OidcUpstreamClient implements UpstreamClient {
  private server: Promise<oauth.AuthorizationServer> | undefined;
  private readonly client: oauth.Client;
  private readonly clientAuth: oauth.ClientAuth;
  private readonly clock: () => number;

  constructor(private readonly options: OidcUpstreamOptions) {
    this.client = { client_id: options.clientId };
    const secret = options.clientSecret;
    this.clientAuth = !secret
      ? oauth.None()
      : options.tokenAuthMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(secret)
        : oauth.ClientSecretBasic(secret);
    this.clock = options.clock ?? Date.now;
  }

  private requestOptions() {
    const issuer = this.options.issuer ?? this.options.tokenUrl!;
    return {
      signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      // Plain http only ever for a provider on this machine (development and tests).
      [oauth.allowInsecureRequests]: new URL(issuer).protocol === 'http:' && isLoopbackHost(new URL(issuer).hostname),
      ...(this.options.fetch ? { [oauth.customFetch]: this.options.fetch } : {}),
    };
  }

  private async discover(): Promise<oauth.AuthorizationServer> {
    const { issuer, authorizationUrl, tokenUrl, userinfoUrl } = this.options;
    if (!issuer) {
      return {
        issuer: new URL(tokenUrl!).origin,
        authorization_endpoint: authorizationUrl,
        token_endpoint: tokenUrl,
        userinfo_endpoint: userinfoUrl,
      };
    }
    const issuerUrl = new URL(issuer);
    const response = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oidc', ...this.requestOptions() });
    const discovered = await oauth.processDiscoveryResponse(issuerUrl, response);
    return {
      ...discovered,
      ...(authorizationUrl ? { authorization_endpoint: authorizationUrl } : {}),
      ...(tokenUrl ? { token_endpoint: tokenUrl } : {}),
      ...(userinfoUrl ? { userinfo_endpoint: userinfoUrl } : {}),
    };
  }

  /** Discovery runs once; a failure is forgotten so the next login retries it. */
  private authorizationServer(): Promise<oauth.AuthorizationServer> {
    if (!this.server) {
      this.server = this.discover().catch((error: unknown) => {
        this.server = undefined;
        throw toUpstreamError(error);
      });
    }
    return this.server;
  }

  async ready(): Promise<void> {
    await this.authorizationServer();
  }

  private isOidc(): boolean {
    return this.options.scopes.includes('openid');
  }

  async authorizationUrl(secrets: UpstreamLoginSecrets, redirectUri: string): Promise<URL> {
    const server = await this.authorizationServer();
    if (!server.authorization_endpoint) throw new UpstreamError('unavailable', 'the provider has no authorization_endpoint');
    const url = new URL(server.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.options.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', this.options.scopes.join(' '));
    url.searchParams.set('state', secrets.state);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(secrets.codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    if (this.isOidc()) url.searchParams.set('nonce', secrets.nonce);
    return url;
  }

  async completeLogin(callbackUrl: URL, secrets: UpstreamLoginSecrets, redirectUri: string) {
    try {
      const server = await this.authorizationServer();
      const parameters = oauth.validateAuthResponse(server, this.client, callbackUrl, secrets.state);
      const response = await oauth.authorizationCodeGrantRequest(
        server,
        this.client,
        this.clientAuth,
        parameters,
        redirectUri,
        secrets.codeVerifier,
        this.requestOptions(),
      );
      const result = await oauth.processAuthorizationCodeResponse(server, this.client, response, {
        expectedNonce: this.isOidc() ? secrets.nonce : oauth.expectNoNonce,
        requireIdToken: this.isOidc(),
      });
      const identity = await this.identityFrom(server, result);
      return { identity, tokens: this.tokensFrom(result) };
    } catch (error) {
      throw toUpstreamError(error);
    }
  }

  async refresh(refreshToken: string): Promise<UpstreamTokens> {
    try {
      const server = await this.authorizationServer();
      const response = await oauth.refreshTokenGrantRequest(server, this.client, this.clientAuth, refreshToken, this.requestOptions());
      const result = await oauth.processRefreshTokenResponse(server, this.client, response);
      // Providers that do not rotate refresh tokens omit them from the response.
      return this.tokensFrom(result, refreshToken);
    } catch (error) {
      throw toUpstreamError(error);
    }
  }

  private tokensFrom(result: oauth.TokenEndpointResponse, previousRefreshToken?: string): UpstreamTokens {
    const refresh = result.refresh_token ?? previousRefreshToken;
    return {
      access_token: result.access_token,
      ...(expiresAt(Math.floor(this.clock() / 1000), result.expires_in) !== undefined
        ? { expires_at: expiresAt(Math.floor(this.clock() / 1000), result.expires_in) }
        : {}),
      ...(refresh ? { refresh_token: refresh } : {}),
    };
  }

  /**
   * The identity is what the provider verified: the ID token's subject, completed
   * from userinfo when the ID token leaves out email or name. Never client input.
   */
  private async identityFrom(server: oauth.AuthorizationServer, result: oauth.TokenEndpointResponse): Promise<Identity> {
    const claims: Record<string, unknown> = { ...(oauth.getValidatedIdTokenClaims(result) ?? {}) };
    const needsUserinfo = claims.email === undefined || claims.name === undefined;
    if (server.userinfo_endpoint && needsUserinfo) {
      const response = await oauth.userInfoRequest(server, this.client, result.access_token, this.requestOptions());
      const expectedSubject = typeof claims.sub === 'string' ? claims.sub : oauth.skipSubjectCheck;
      const userinfo = await oauth.processUserInfoResponse(server, this.client, expectedSubject, response);
      for (const [name, value] of Object.entries(userinfo)) claims[name] ??= value;
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') throw new UpstreamError('unavailable', 'the provider returned no subject');
    return {
      sub: claims.sub,
      ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
      ...(typeof claims.email_verified === 'boolean' ? { email_verified: claims.email_verified } : {}),
      ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
    };
  }
}
