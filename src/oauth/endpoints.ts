import type { Config } from '../config/schema.js';

/** Public URLs of the proxy, all derived from configuration and never from the Host header. */
export interface Endpoints {
  readonly issuer: string;
  readonly authorization: string;
  readonly token: string;
  readonly registration: string;
  readonly consent: string;
  readonly callback: string;
  /** The MCP route's path on the proxy and its canonical resource URI (RFC 8707). */
  readonly mcpPath: string;
  readonly resource: string;
  readonly protectedResourceMetadata: string;
  /** Whether cookies can carry Secure and the __Host- prefix. */
  readonly secureCookies: boolean;
}

export const PATHS = {
  authorizationServerMetadata: '/.well-known/oauth-authorization-server',
  protectedResourceMetadata: '/.well-known/oauth-protected-resource',
  authorize: '/authorize',
  token: '/token',
  register: '/register',
  consent: '/consent',
  callback: '/oauth/callback',
} as const;

export function endpointsFor(config: Config): Endpoints {
  const issuer = config.publicUrl;
  const mcpPath = config.mcp.url.pathname.replace(/\/+$/, '') || '/';
  return {
    issuer,
    authorization: issuer + PATHS.authorize,
    token: issuer + PATHS.token,
    registration: issuer + PATHS.register,
    consent: issuer + PATHS.consent,
    callback: issuer + PATHS.callback,
    mcpPath,
    resource: issuer + mcpPath,
    protectedResourceMetadata: issuer + PATHS.protectedResourceMetadata + mcpPath,
    secureCookies: issuer.startsWith('https:'),
  };
}
