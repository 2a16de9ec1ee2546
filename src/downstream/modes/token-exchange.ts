import { credentialUnavailable, type CredentialRefusal, type DownstreamCredential } from '../credential.js';
import { checkTokenUrl, type TokenClient } from '../token-endpoint/client-auth.js';
import { failureDetail, TokenEndpointError } from '../token-endpoint/errors.js';
import { subjectTokenKind, type ExchangeGrant, type ExchangeRequest } from '../token-exchange/index.js';

/** The cached exchanges (src/downstream/token-exchange). */
export interface ExchangeSource {
  exchange(request: ExchangeRequest): Promise<{ readonly accessToken: string }>;
  /** Drops the cached token, unless it was already renewed since `rejected` was handed out. */
  invalidate(request: ExchangeRequest, rejected?: string): void;
}

export interface TokenExchangeOptions {
  readonly grant: ExchangeGrant;
  /** The token endpoint: the configured one, or the upstream provider's. */
  readonly tokenUrl: () => Promise<string>;
  readonly client: TokenClient;
}

/**
 * OAuth errors by which a token endpoint refuses the proxy's own client rather than the user's
 * token: signing in again cannot help, so they are the operator's to fix.
 */
const CLIENT_REFUSALS: ReadonlySet<string> = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type']);

const SIGN_IN_AGAIN = {
  ok: false,
  status: 401,
  error: 'invalid_token',
  description: 'The identity provider refused to exchange your sign-in for a token of the MCP server; sign in again.',
} as const;

/**
 * A failed exchange as the client's answer. The provider refusing the user's token (an expired
 * or revoked one, a missing consent or MFA) is the client's 401, so it signs in again; the
 * provider refusing the proxy's client, or not answering usably, is a 503 for the operator.
 */
export function exchangeRefusal(error: unknown): CredentialRefusal {
  const detail = failureDetail(error);
  const refusedUser = error instanceof TokenEndpointError && error.code === 'token_endpoint_error' && !CLIENT_REFUSALS.has(error.oauthError ?? '');
  return refusedUser ? { ...SIGN_IN_AGAIN, detail } : credentialUnavailable(detail);
}

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });

/**
 * The user's upstream token, exchanged at the token endpoint for one issued for the MCP server
 * and sent as Bearer: RFC 8693 token exchange, or Entra's on-behalf-of. The exchanged token is
 * cached per user; a 401 from the downstream drops it and tries once more with a new one.
 */
export function tokenExchange(options: TokenExchangeOptions, exchanges: ExchangeSource): DownstreamCredential {
  const kind = subjectTokenKind(options.grant);
  let endpoint: Promise<URL> | undefined;
  // Checked once known: https (or loopback), so a subject token never travels in the clear. A failed discovery is tried again by the next request.
  const tokenUrl = () =>
    (endpoint ??= options.tokenUrl().then(checkTokenUrl).catch((error: unknown) => {
      endpoint = undefined;
      throw error;
    }));
  return {
    signsIn: true,
    needsUpstreamToken: true,
    async credential({ token }) {
      const subjectToken = token.upstream[kind];
      if (subjectToken === undefined) return { ...SIGN_IN_AGAIN, detail: `the sign-in holds no upstream ${kind}` };
      try {
        const request: ExchangeRequest = { tokenUrl: await tokenUrl(), client: options.client, grant: options.grant, subjectToken };
        const { accessToken } = await exchanges.exchange(request);
        return {
          ok: true,
          headers: bearer(accessToken),
          renew: async () => {
            exchanges.invalidate(request, accessToken);
            return bearer((await exchanges.exchange(request)).accessToken);
          },
        };
      } catch (error) {
        return exchangeRefusal(error);
      }
    },
  };
}
