import type { Route } from '../config/schema.js';
import type { DownstreamCredential } from './credential.js';
import { apiKey } from './modes/api-key.js';
import { clientCredentials, type TokenSource } from './modes/client-credentials.js';
import { identityHeaders } from './modes/identity-headers.js';
import { noCredential } from './modes/none.js';
import { personalAccessToken } from './modes/pat.js';
import { tokenExchange, type ExchangeSource } from './modes/token-exchange.js';
import { upstreamToken } from './modes/upstream-token.js';
import { normalizeScopes, type ClientAuthMethod } from './token-endpoint/client-auth.js';
import type { ExchangeGrant } from './token-exchange/index.js';

/** The proxy's client at the route's identity provider: what the exchange modes use unless the route names its own. */
export interface UpstreamClientDefaults {
  tokenEndpoint(): Promise<string>;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly authMethod: ClientAuthMethod;
}

export interface CredentialDeps {
  /** Client-credentials tokens, cached. */
  readonly tokens: TokenSource;
  /** Exchanged tokens, cached. */
  readonly exchanges: ExchangeSource;
  readonly upstream: UpstreamClientDefaults;
}

type ExchangeRoute = Extract<Route, { auth: 'token-exchange' | 'entra-obo' }>;

function exchangeGrant(route: ExchangeRoute): ExchangeGrant {
  const scopes = normalizeScopes(route.scopes);
  if (route.auth === 'entra-obo') return { kind: 'entra-obo', scopes };
  return { kind: 'token-exchange', subjectToken: route.subjectToken, audience: route.audience, resource: route.resource, scopes };
}

/** The route's own client at the token endpoint, or else the proxy's upstream client. */
function exchangeCredential(route: ExchangeRoute, deps: CredentialDeps): DownstreamCredential {
  const { upstream } = deps;
  const client =
    route.clientId !== undefined && route.clientSecret !== undefined
      ? { clientId: route.clientId, clientSecret: route.clientSecret }
      : upstream.clientSecret !== undefined
        ? { clientId: upstream.clientId, clientSecret: upstream.clientSecret }
        : undefined;
  // The configuration refuses an exchange route without a secret to authenticate with.
  if (client === undefined) throw new Error(`route ${route.path}: no client secret for the token endpoint`);
  const { tokenUrl } = route;
  return tokenExchange(
    {
      grant: exchangeGrant(route),
      tokenUrl: tokenUrl === undefined ? () => upstream.tokenEndpoint() : async () => tokenUrl,
      client: { ...client, authMethod: route.tokenAuth ?? upstream.authMethod },
    },
    deps.exchanges,
  );
}

/** The credential mode of a route, built once at startup from its validated settings. */
export function downstreamCredential(route: Route, deps: CredentialDeps): DownstreamCredential {
  switch (route.auth) {
    case 'upstream-token':
      return upstreamToken;
    case 'identity-headers':
      return identityHeaders;
    case 'api-key':
      return apiKey({ header: route.header, key: route.apiKey });
    case 'client-credentials':
      return clientCredentials(
        {
          tokenUrl: route.tokenUrl,
          scopes: route.scopes,
          authMethod: route.tokenAuth,
          client:
            route.credentialsFrom === 'config'
              ? { from: 'config', id: route.clientId, secret: route.clientSecret }
              : { from: 'request', idHeader: route.clientIdHeader, secretHeader: route.clientSecretHeader },
        },
        deps.tokens,
      );
    case 'token-exchange':
    case 'entra-obo':
      return exchangeCredential(route, deps);
    case 'pat':
      return personalAccessToken({ incomingHeader: route.patHeader, outboundHeader: route.header });
    case 'none':
      return noCredential;
  }
}

export type { CredentialOutcome, CredentialRequest, DownstreamCredential } from './credential.js';
