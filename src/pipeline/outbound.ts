import type { Config } from '../config/schema.js';
import type { CredentialOutcome } from '../downstream/credential.js';
import type { RouteEndpoints } from '../oauth/endpoints.js';
import type { ForwardObserver, ForwardRequest, ResponseRewrite } from '../proxy/forwarder.js';
import type { Forwarding } from '../proxy/outbound-headers.js';
import type { Exchange } from './exchange.js';

/** A credential mode's answer when it has a credential to give. */
export type GrantedCredential = Extract<CredentialOutcome, { ok: true }>;

/** What the earlier steps decided about one request, for the request that goes downstream. */
export interface ForwardParts {
  readonly outcome: GrantedCredential;
  readonly requestId: string;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly observer: ForwardObserver;
  /** The body inspection read, sent in place of the incoming stream. */
  readonly body?: Uint8Array;
  readonly transformResponse?: ResponseRewrite;
  readonly sessionId?: (downstreamId: string) => Promise<string>;
  /** The downstream's own session id, which the client's sealed one stands for. */
  readonly downstreamSessionId?: string;
  readonly unauthorizedChallenge?: string;
}

/**
 * Builds the request a route sends downstream: the route's URL with the incoming query (and,
 * on http routes, the subpath), the client's headers less what must not travel, the proxy's
 * X-Forwarded-* and request id, and the credential; with one retry on a fresh credential where
 * the mode can renew it. What is fixed per route is worked out once, here.
 */
export function downstreamRequest(endpoint: RouteEndpoints, config: Pick<Config, 'publicUrl' | 'trustProxyHops'>) {
  const { route } = endpoint;
  const publicOrigin = new URL(config.publicUrl);
  const forwarding: Forwarding = { trustedHops: config.trustProxyHops, proto: publicOrigin.protocol.slice(0, -1), host: publicOrigin.host };
  const routeUrl = new URL(route.url);
  // The incoming query replaces the route's own.
  routeUrl.search = '';

  /** Where this request goes; `path` is the request's path, matched against the route's. */
  const targetOf = (requestTarget: string, path: string): URL => {
    const queryAt = requestTarget.indexOf('?');
    // The common MCP request, no query: one URL for all of them (forwarders only read it).
    if (route.kind === 'mcp' && queryAt === -1) return routeUrl;
    const target = new URL(routeUrl);
    // http routes forward their subpaths too; MCP routes are one endpoint.
    if (route.kind === 'http') target.pathname = target.pathname.replace(/\/+$/, '') + path.slice(endpoint.path.length);
    target.search = queryAt === -1 ? '' : requestTarget.slice(queryAt);
    return target;
  };

  return <R>(exchange: Exchange<R>, path: string, parts: ForwardParts): ForwardRequest => {
    const { outcome } = parts;
    const headersWith = (credential: Readonly<Record<string, string>>) => {
      const headers = exchange.outboundHeaders({
        credential,
        requestId: parts.requestId,
        ...(outcome.strip ? { strip: outcome.strip } : {}),
        forwarding,
        peer: exchange.peer,
      });
      if (parts.downstreamSessionId !== undefined) headers['mcp-session-id'] = parts.downstreamSessionId;
      return headers;
    };
    const { renew } = outcome;
    return {
      method: exchange.method,
      target: targetOf(exchange.target, path),
      headers: headersWith(outcome.headers),
      responseHeaders: parts.responseHeaders,
      requestId: parts.requestId,
      observer: parts.observer,
      body: parts.body,
      transformResponse: parts.transformResponse,
      sessionId: parts.sessionId,
      unauthorizedChallenge: parts.unauthorizedChallenge,
      // A credential the proxy obtained itself may have been revoked: fetch a new one and try once more.
      retryOnUnauthorized: renew
        ? async () => {
            const fresh = await renew().catch(() => undefined);
            return fresh ? headersWith(fresh) : undefined;
          }
        : undefined,
    };
  };
}
