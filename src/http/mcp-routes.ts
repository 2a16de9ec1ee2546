import { Hono, type Context } from 'hono';
import { downstreamCredential, type DownstreamCredential } from '../downstream/credentials.js';
import type { TokenSource } from '../downstream/modes/client-credentials.js';
import { requestIdOf, statusSent } from './access-log.js';
import { mcpCors } from './cors.js';
import type { AppDeps } from './deps.js';
import { auditUser, type AuditEvent } from '../observability/audit.js';
import type { Endpoints, RouteEndpoints } from '../oauth/endpoints.js';
import type { ForwardObserver, ForwardRequest } from '../proxy/forwarder.js';
import { requestHeaderPairs } from '../proxy/context.js';
import { outboundRequestHeaders, type Forwarding } from '../proxy/outbound-headers.js';
import { refusedMethodAllow } from '../mcp/allowed-methods.js';
import { inspectMcpRequest } from '../mcp/inspection/inspect-request.js';
import { compileToolPolicy } from '../mcp/inspection/tool-policy.js';
import { verifyBearer } from '../mcp/bearer.js';
import { checkSessionId, clientSessionIds, unknownSession, type SessionOwner } from '../mcp/session-binding.js';
import { bearerChallenge } from '../mcp/challenge.js';
import { rebindingGuards } from '../mcp/origin-guard.js';

const INVALID_TOKEN = 'The access token is invalid or expired.';
const METHOD_NOT_ALLOWED = 'This method is not forwarded on this route.';

/** A JSON-RPC error on MCP routes (code -32000, as the MCP SDK's own 405), an OAuth-style error on http routes. */
function methodRefusal(c: Context, kind: RouteEndpoints['route']['kind'], allow: string): Response {
  const body = kind === 'mcp'
    ? { jsonrpc: '2.0', id: null, error: { code: -32000, message: METHOD_NOT_ALLOWED } }
    : { error: 'method_not_allowed', error_description: METHOD_NOT_ALLOWED };
  return c.json(body, 405, { Allow: allow });
}

/**
 * One route: the caller is authenticated the way the route's credential mode
 * wants (the proxy's own access token, or the client's own credential), the
 * user's access is checked on every request, and the downstream gets its own
 * credential, never the client's.
 */
function mountRoute(app: Hono, deps: AppDeps, endpoint: RouteEndpoints, credential: DownstreamCredential, scope: string | undefined): void {
  const { route } = endpoint;
  const forwarder = deps.forwarderFor(route);
  const tools = compileToolPolicy(route.tools);
  const challenge = (error?: 'invalid_token') =>
    bearerChallenge({
      resourceMetadata: endpoint.protectedResourceMetadata,
      scope,
      ...(error ? { error, description: INVALID_TOKEN } : {}),
    });
  // A downstream 401 means it refused the upstream credential: the client should refresh with us.
  const downstreamRefusedChallenge = credential.signsIn
    ? bearerChallenge({ resourceMetadata: endpoint.protectedResourceMetadata, scope, error: 'invalid_token', description: 'The MCP server refused the credential; refresh the access token.' })
    : undefined;
  const observer: ForwardObserver = {
    downstreamError: (kind) => deps.metrics.downstreamErrors.inc({ route: endpoint.path, kind }),
    streamOpened: () => deps.metrics.openStream(endpoint.path),
  };

  const publicOrigin = new URL(deps.config.publicUrl);
  const forwarding: Forwarding = {
    trustedHops: deps.config.trustProxyHops,
    proto: publicOrigin.protocol.slice(0, -1),
    host: publicOrigin.host,
  };

  const routeUrl = new URL(route.url);
  // The incoming query replaces the route's own, as for every request before.
  routeUrl.search = '';
  /** Where this request goes: the route's URL with the incoming query (and, on http routes, subpath). */
  const downstreamTarget = (incomingUrl: string): URL => {
    const queryAt = incomingUrl.indexOf('?');
    // The common MCP request, no query: one URL for all of them (forwarders only read it).
    if (route.kind === 'mcp' && queryAt === -1) return routeUrl;
    const incoming = new URL(incomingUrl);
    const target = new URL(routeUrl);
    // http routes forward their subpaths too; MCP routes are one endpoint.
    if (route.kind === 'http') target.pathname = target.pathname.replace(/\/+$/, '') + incoming.pathname.slice(endpoint.path.length);
    target.search = incoming.search;
    return target;
  };

  const handler = async (c: Context) => {
    const started = deps.clock();
    const requestId = requestIdOf(c);
    const audit: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } = {
      event: route.kind === 'mcp' ? 'mcp_request' : 'http_request',
      route: endpoint.path,
      ...(requestId ? { request_id: requestId } : {}),
    };
    const finish = (response: Response, extra: Partial<AuditEvent> = {}) => {
      deps.audit.record({ ...audit, ...extra, status: statusSent(c, response), latency_ms: deps.clock() - started });
      return response;
    };

    // Before authentication: the method alone decides, the same for every caller, so no token is checked for it.
    const allow = refusedMethodAllow(route.kind, c.req.method);
    if (allow !== undefined) return finish(methodRefusal(c, route.kind, allow), { outcome: 'denied', reason: 'method_not_allowed' });

    let token;
    if (credential.signsIn) {
      const result = await verifyBearer(c.req.header('authorization'), { capsules: deps.capsules, replay: deps.replay, resource: endpoint.resource });
      if (!result.ok) {
        deps.logger.info('mcp request unauthorized', { route: endpoint.path, reason: result.reason, detail: result.detail, request_id: requestId });
        const invalid = result.reason === 'invalid';
        return finish(
          c.json({ error: 'invalid_token', error_description: invalid ? INVALID_TOKEN : 'Authorization required.' }, 401, {
            'WWW-Authenticate': challenge(invalid ? 'invalid_token' : undefined),
          }),
          { outcome: 'denied', reason: result.reason },
        );
      }
      token = result.token;
      audit.user = auditUser(token.identity);
      audit.client = { id: token.cid };
      const decision = endpoint.access.decide(token.identity);
      if (!decision.allowed) {
        deps.metrics.policyDenials.inc({ stage: 'request' });
        deps.audit.record({ ...audit, event: 'policy_denied', outcome: 'denied', reason: decision.reason });
        return finish(c.json({ error: 'access_denied', error_description: 'Your account is not allowed to use this MCP server.' }, 403), {
          outcome: 'denied',
          reason: decision.reason,
        });
      }
    }

    const outcome = await credential.credential({ token, headers: c.req.raw.headers });
    if (!outcome.ok) {
      deps.logger.warn('downstream credential unavailable', { route: endpoint.path, error: outcome.error, detail: outcome.detail, request_id: requestId });
      return finish(
        c.json({ error: outcome.error, error_description: outcome.description }, outcome.status, outcome.challenge ? { 'WWW-Authenticate': outcome.challenge } : {}),
        { outcome: 'denied', reason: outcome.error },
      );
    }

    let sessionId: ForwardRequest['sessionId'];
    let downstreamSessionId: string | undefined;
    let inspected: { body?: Uint8Array; transformResponse?: NonNullable<ForwardRequest['transformResponse']> } = {};
    if (route.kind === 'mcp') {
      const owner: SessionOwner = {
        route: endpoint.path,
        ...(token ? { sub: token.identity.sub, cid: token.cid } : {}),
        ...(outcome.caller !== undefined ? { caller: outcome.caller } : {}),
      };
      const session = await checkSessionId(deps.capsules, c.req.header('mcp-session-id'), owner);
      if (!session.ok) {
        deps.logger.info('mcp session id refused', { route: endpoint.path, detail: session.detail, request_id: requestId });
        return finish(unknownSession(), { outcome: 'denied', reason: 'unknown_session' });
      }
      sessionId = clientSessionIds(deps.capsules, session, owner);
      downstreamSessionId = session.downstreamId;

      const groups = token?.identity.groups ?? [];
      const inspection = await inspectMcpRequest(c, {
        ...(tools.restrictsAnything ? { isAllowed: (name: string) => tools.isAllowed(name, groups) } : {}),
        onOversize: (bytes) => deps.logger.warn('tools/list response too large to filter; passed unfiltered', { route: endpoint.path, bytes, request_id: requestId }),
      });
      if (inspection.summary) {
        const requests = inspection.summary.messages.filter((message) => !message.isResponse);
        audit.methods = requests.map((message) => message.method ?? '');
        const toolNames = requests.flatMap((message) => (message.toolName ? [message.toolName] : []));
        if (toolNames.length) audit.tools = toolNames;
      }
      if (inspection.kind === 'answer') {
        if (inspection.reason === 'tool_refused') {
          deps.metrics.policyDenials.inc({ stage: 'tool' });
          deps.audit.record({ ...audit, event: 'tool_denied', outcome: 'denied', tools: (inspection.refused ?? []).map((call) => call.toolName ?? '') });
        }
        return finish(inspection.response, { outcome: 'denied', reason: inspection.reason });
      }
      inspected = inspection.forward;
    }

    const target = downstreamTarget(c.req.url);
    const peer = deps.peerAddress?.(c);
    const outbound = (credentialHeaders: Readonly<Record<string, string>>) => {
      const headers = outboundRequestHeaders(requestHeaderPairs(c), {
        credential: credentialHeaders,
        ...(requestId ? { requestId } : {}),
        ...(outcome.strip ? { strip: outcome.strip } : {}),
        forwarding,
        peer,
      });
      if (downstreamSessionId !== undefined) headers['mcp-session-id'] = downstreamSessionId;
      return headers;
    };
    const renew = outcome.renew;
    const response = await forwarder.forward(c, {
      target,
      headers: outbound(outcome.headers),
      ...inspected,
      observer,
      ...(requestId ? { requestId } : {}),
      ...(downstreamRefusedChallenge ? { unauthorizedChallenge: downstreamRefusedChallenge } : {}),
      ...(sessionId ? { sessionId } : {}),
      // A credential the proxy obtained itself may have been revoked: fetch a new one and try once more.
      ...(renew ? { retryOnUnauthorized: async () => {
        const fresh = await renew().catch(() => undefined);
        return fresh ? outbound(fresh) : undefined;
      } } : {}),
    });
    return finish(response, { outcome: 'allowed' });
  };

  const refused = (c: Context, header: string, value: string) => deps.logger.info(`request ${header} refused`, { route: endpoint.path, [header]: value, request_id: requestIdOf(c) });
  const middleware = [...rebindingGuards(route, deps.config.publicUrl, refused), mcpCors()];
  app.use(endpoint.path, ...middleware);
  app.all(endpoint.path, handler);
  if (route.kind === 'http') {
    app.use(`${endpoint.path}/*`, ...middleware);
    app.all(`${endpoint.path}/*`, handler);
  }
}

export function mcpRoutes(deps: AppDeps, endpoints: Endpoints, tokens: TokenSource): Hono {
  const app = new Hono();
  const scope = deps.config.scopes.join(' ') || undefined;
  for (const endpoint of endpoints.routes) mountRoute(app, deps, endpoint, downstreamCredential(endpoint.route, { tokens }), scope);
  return app;
}
