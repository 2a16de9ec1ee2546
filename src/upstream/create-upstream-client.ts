import * as oauth from 'oauth4webapi';
import type { Identity, UpstreamTokens } from '../domain/capsule-schemas.js';
import { checksCallbackIssuer, loadAuthorizationServer, requestOptions } from './authorization-server.js';
import { toUpstreamError } from './errors.js';
import { identityFromClaims } from './identity/claims.js';
import { githubIdentity } from './identity/github.js';
import { oidcIdentity } from './identity/oidc.js';
import { fetchUserinfoDocument } from './identity/userinfo.js';
import { createOutboundFetch } from './outbound-fetch.js';
import type { ResolvedUpstream } from './settings.js';
import { normalizeTokenResponses } from './token-response.js';
import type { UpstreamClient, UpstreamLoginResult, UpstreamLoginSecrets } from './upstream-client.js';

export interface UpstreamClientDeps {
  /** Milliseconds since the epoch; also shifts oauth4webapi's ID token time checks. */
  readonly clock?: () => number;
  readonly fetch?: typeof fetch;
  /**
   * Keep the provider's ID token with the user's upstream tokens, for a route that exchanges it.
   * Off by default: it would only make every access token larger.
   */
  readonly keepIdToken?: boolean;
}

/** The proxy as one OAuth/OIDC client of the provider `resolved` describes. */
export function createUpstreamClient(resolved: ResolvedUpstream, deps: UpstreamClientDeps = {}): UpstreamClient {
  return new PresetUpstreamClient(resolved, deps);
}

class PresetUpstreamClient implements UpstreamClient {
  private server: Promise<oauth.AuthorizationServer> | undefined;
  private readonly clientAuth: oauth.ClientAuth;
  private readonly clock: () => number;
  /** Discovery, userinfo and APIs. */
  private readonly fetch: typeof fetch;
  /** The token endpoint, normalised for plain OAuth providers. */
  private readonly tokenFetch: typeof fetch;
  private readonly keepIdToken: boolean;

  constructor(
    private readonly resolved: ResolvedUpstream,
    deps: UpstreamClientDeps,
  ) {
    const secret = resolved.clientSecret;
    this.clientAuth = !secret
      ? oauth.None()
      : resolved.tokenAuthMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(secret)
        : oauth.ClientSecretBasic(secret);
    this.clock = deps.clock ?? Date.now;
    this.keepIdToken = deps.keepIdToken ?? false;
    this.fetch = createOutboundFetch({ timeoutMs: resolved.timeoutMs, maxResponseBytes: resolved.maxResponseBytes, fetch: deps.fetch });
    this.tokenFetch =
      resolved.protocol === 'oidc' ? this.fetch : normalizeTokenResponses(this.fetch, { dropIdToken: true });
  }

  /** oauth4webapi reads Date.now(); the skew makes its ID token checks follow the injected clock. */
  private client(): oauth.Client {
    return { client_id: this.resolved.clientId, [oauth.clockSkew]: Math.round((this.clock() - Date.now()) / 1000) };
  }

  /** Discovery runs once; a failure is forgotten so the next login retries it. */
  private authorizationServer(): Promise<oauth.AuthorizationServer> {
    this.server ??= loadAuthorizationServer(this.resolved, this.fetch).catch((error: unknown) => {
      this.server = undefined;
      throw toUpstreamError(error, 'discovery');
    });
    return this.server;
  }

  async ready(): Promise<void> {
    await this.authorizationServer();
  }

  async tokenEndpoint(): Promise<string> {
    const server = await this.authorizationServer();
    if (!server.token_endpoint) throw toUpstreamError(new Error('the provider has no token_endpoint'), 'discovery');
    return server.token_endpoint;
  }

  async authorizationUrl(secrets: UpstreamLoginSecrets, redirectUri: string): Promise<URL> {
    const server = await this.authorizationServer();
    if (!server.authorization_endpoint) throw toUpstreamError(new Error('the provider has no authorization_endpoint'), 'discovery');
    const url = new URL(server.authorization_endpoint);
    const params = url.searchParams;
    params.set('response_type', 'code');
    params.set('client_id', this.resolved.clientId);
    params.set('redirect_uri', redirectUri);
    if (this.resolved.scopes.length > 0) params.set('scope', this.resolved.scopes.join(' '));
    params.set('state', secrets.state);
    params.set('code_challenge', await oauth.calculatePKCECodeChallenge(secrets.codeVerifier));
    params.set('code_challenge_method', 'S256');
    if (this.resolved.protocol === 'oidc') params.set('nonce', secrets.nonce);
    for (const [name, value] of Object.entries(this.resolved.authParams)) params.set(name, value);
    return url;
  }

  async completeLogin(callbackUrl: URL, secrets: UpstreamLoginSecrets, redirectUri: string): Promise<UpstreamLoginResult> {
    let step = 'discovery';
    try {
      const server = await this.authorizationServer();
      const client = this.client();
      step = 'authorization response';
      const callback = new URL(callbackUrl);
      if (!checksCallbackIssuer(this.resolved)) callback.searchParams.delete('iss');
      const parameters = oauth.validateAuthResponse(server, client, callback, secrets.state);
      step = 'token exchange';
      const response = await oauth.authorizationCodeGrantRequest(
        server, client, this.clientAuth, parameters, redirectUri, secrets.codeVerifier, requestOptions(this.tokenFetch),
      );
      const oidc = this.resolved.protocol === 'oidc';
      const result = await oauth.processAuthorizationCodeResponse(server, client, response, {
        expectedNonce: oidc ? secrets.nonce : oauth.expectNoNonce,
        requireIdToken: oidc,
      });
      step = 'identity';
      const identity = await this.identityFrom(server, client, result);
      return { identity, tokens: this.tokensFrom(result) };
    } catch (error) {
      throw toUpstreamError(error, step);
    }
  }

  async refresh(refreshToken: string): Promise<UpstreamTokens> {
    try {
      const server = await this.authorizationServer();
      const client = this.client();
      const response = await oauth.refreshTokenGrantRequest(server, client, this.clientAuth, refreshToken, requestOptions(this.tokenFetch));
      const result = await oauth.processRefreshTokenResponse(server, client, response);
      // Providers that do not rotate refresh tokens leave them out of the response.
      return this.tokensFrom(result, refreshToken);
    } catch (error) {
      throw toUpstreamError(error, 'refresh');
    }
  }

  async revoke(token: string, hint: 'access_token' | 'refresh_token'): Promise<'revoked' | 'unsupported'> {
    try {
      const server = await this.authorizationServer();
      if (!server.revocation_endpoint) return 'unsupported';
      const response = await oauth.revocationRequest(server, this.client(), this.clientAuth, token, {
        ...requestOptions(this.fetch),
        additionalParameters: { token_type_hint: hint },
      });
      await oauth.processRevocationResponse(response);
      return 'revoked';
    } catch (error) {
      throw toUpstreamError(error, 'revocation');
    }
  }

  private async identityFrom(server: oauth.AuthorizationServer, client: oauth.Client, result: oauth.TokenEndpointResponse): Promise<Identity> {
    const resolved = this.resolved;
    switch (resolved.protocol) {
      case 'oidc':
        return oidcIdentity(resolved, server, client, result, requestOptions(this.fetch));
      case 'oauth2':
        return identityFromClaims(await fetchUserinfoDocument(this.fetch, resolved.userinfoUrl, result.access_token), resolved.claims);
      case 'github':
        return githubIdentity(this.fetch, resolved.apiUrl, result.access_token);
    }
  }

  /**
   * An ID token is kept as the provider sent it: one not renewed by a refresh is left out rather
   * than carried on, since it would be as old as the sign-in and no provider would exchange it.
   */
  private tokensFrom(result: oauth.TokenEndpointResponse, previousRefreshToken?: string): UpstreamTokens {
    const refresh = result.refresh_token ?? previousRefreshToken;
    const expiresIn = result.expires_in;
    const now = Math.floor(this.clock() / 1000);
    return {
      access_token: result.access_token,
      ...(typeof expiresIn === 'number' && expiresIn > 0 ? { expires_at: now + Math.floor(expiresIn) } : {}),
      ...(refresh ? { refresh_token: refresh } : {}),
      ...(this.keepIdToken && result.id_token ? { id_token: result.id_token } : {}),
    };
  }
}
