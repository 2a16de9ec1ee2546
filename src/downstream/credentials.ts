import type { Route } from '../config/schema.js';
import type { DownstreamCredential } from './credential.js';
import { apiKey } from './modes/api-key.js';
import { clientCredentials, type TokenSource } from './modes/client-credentials.js';
import { identityHeaders } from './modes/identity-headers.js';
import { noCredential } from './modes/none.js';
import { personalAccessToken } from './modes/pat.js';
import { upstreamToken } from './modes/upstream-token.js';

/** The credential mode of a route, built once at startup from its validated settings. */
export function downstreamCredential(route: Route, deps: { tokens: TokenSource }): DownstreamCredential {
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
    case 'pat':
      return personalAccessToken({ incomingHeader: route.patHeader, outboundHeader: route.header });
    case 'none':
      return noCredential;
  }
}

export type { CredentialOutcome, CredentialRequest, DownstreamCredential } from './credential.js';
