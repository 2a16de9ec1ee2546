import { credentialsFromRequest } from '../client-credentials/index.js';
import { credentialDigest, credentialUnavailable, type CredentialOutcome, type DownstreamCredential } from '../credential.js';
import { failureDetail, TokenEndpointError } from '../token-endpoint/errors.js';

/** The request for a client_credentials token, as the token source takes it. */
export interface TokenRequest {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
}

/** The cached client_credentials token source (src/downstream/client-credentials). */
export interface TokenSource {
  getToken(request: TokenRequest): Promise<{ readonly accessToken: string }>;
  /** Drops the cached token, unless it was already renewed since `rejected` was handed out. */
  invalidate(request: TokenRequest, rejected?: string): void;
}

export interface ClientCredentialsOptions {
  readonly tokenUrl: string;
  readonly scopes: readonly string[];
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
  /** The proxy's own client, or the headers in which each MCP client brings its own. */
  readonly client:
    | { readonly from: 'config'; readonly id: string; readonly secret: string }
    | { readonly from: 'request'; readonly idHeader: string; readonly secretHeader: string };
}

/**
 * A token the proxy obtains with client credentials, injected as Bearer. With
 * the proxy's own client, users sign in as usual; with credentials from the
 * request, each MCP client brings its own client_id and secret and no OAuth
 * sign-in happens. A 401 from the downstream drops the cached token and tries once more.
 */
export function clientCredentials(options: ClientCredentialsOptions, tokens: TokenSource): DownstreamCredential {
  const { client } = options;

  const outcomeFor = async (request: TokenRequest, strip: readonly string[], caller?: string): Promise<CredentialOutcome> => {
    try {
      const { accessToken } = await tokens.getToken(request);
      return {
        ok: true,
        headers: { authorization: `Bearer ${accessToken}` },
        strip,
        ...(caller === undefined ? {} : { caller }),
        renew: async () => {
          tokens.invalidate(request, accessToken);
          return { authorization: `Bearer ${(await tokens.getToken(request)).accessToken}` };
        },
      };
    } catch (error) {
      const refused = error instanceof TokenEndpointError && error.oauthError === 'invalid_client';
      return refused && client.from === 'request'
        ? { ok: false, status: 401, error: 'invalid_client', description: 'The client credentials were refused.', challenge: 'Basic realm="mcp-capsule"', detail: String((error as Error).message) }
        : credentialUnavailable(failureDetail(error));
    }
  };

  const base = { tokenUrl: options.tokenUrl, scopes: options.scopes, authMethod: options.authMethod };
  if (client.from === 'config') {
    const request = { ...base, clientId: client.id, clientSecret: client.secret };
    return { signsIn: true, needsUpstreamToken: false, credential: () => outcomeFor(request, []) };
  }
  const idHeader = client.idHeader.toLowerCase();
  const secretHeader = client.secretHeader.toLowerCase();
  return {
    signsIn: false,
    needsUpstreamToken: false,
    async credential({ headers }) {
      const own = credentialsFromRequest(headers, { clientId: idHeader, clientSecret: secretHeader });
      if (!own) {
        return {
          ok: false,
          status: 401,
          error: 'invalid_client',
          description: `Send your client credentials in ${client.idHeader} and ${client.secretHeader}.`,
          challenge: 'Basic realm="mcp-capsule"',
        };
      }
      return outcomeFor({ ...base, clientId: own.clientId, clientSecret: own.clientSecret }, [idHeader, secretHeader], credentialDigest(own.clientId, own.clientSecret));
    },
  };
}
