import type { Config } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import { jsonAnswer, type Answer } from '../domain/answer.js';
import type { Clock } from '../domain/clock.js';
import { CORS_PREFLIGHT_HEADERS, CORS_RESPONSE_HEADERS } from '../domain/cors.js';
import type { AccessPayload } from '../domain/capsule-schemas.js';
import type { DownstreamCredential } from '../downstream/credential.js';
import { refusedMethodAllow } from '../mcp/allowed-methods.js';
import { verifyBearer } from '../mcp/bearer.js';
import { bearerChallenge } from '../mcp/challenge.js';
import { inspectMcpRequest, type Inspection } from '../mcp/inspection/inspect-request.js';
import { compileToolPolicy } from '../mcp/inspection/tool-policy.js';
import { rebindingAnswer, rebindingCheck } from '../mcp/origin-guard.js';
import { checkSessionId, clientSessionIds, unknownSession, type SessionOwner } from '../mcp/session-binding.js';
import type { RouteEndpoints } from '../oauth/endpoints.js';
import { auditUser, type AuditEvent, type AuditLog } from '../observability/audit.js';
import { logsAt, type Logger } from '../observability/logger.js';
import { methodLabel, type Metrics } from '../observability/metrics.js';
import { requestIdFor } from '../observability/request-id.js';
import type { ForwardObserver, ForwardRequest } from '../proxy/forwarder.js';
import type { ReplayStore } from '../store/replay-store.js';
import type { Exchange, Sent } from './exchange.js';
import { downstreamRequest, type GrantedCredential } from './outbound.js';

/** What the route pipeline needs of the process: passed in, so tests can swap the clock or the store. */
export interface PipelineDeps {
  readonly config: Config;
  readonly capsules: CapsuleCodec;
  readonly replay: ReplayStore;
  readonly logger: Logger;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Makes the id of a request whose caller sent no usable X-Request-Id. */
  readonly newRequestId: () => string;
}

/** One MCP (or `kind: http`) route's handling of a request, whatever the runtime. */
export interface RoutePipeline {
  readonly endpoint: RouteEndpoints;
  /** Handles one request; `path` is the request's path (a subpath on http routes) and `metricsRoute` its route label. */
  handle<R>(exchange: Exchange<R>, path: string, metricsRoute: string): Promise<R>;
}

const INVALID_TOKEN = 'The access token is invalid or expired.';
const METHOD_NOT_ALLOWED = 'This method is not forwarded on this route.';
const SERVER_ERROR = jsonAnswer(500, { error: 'server_error', error_description: 'The server could not complete the request.' });
const ACCESS_DENIED = jsonAnswer(403, { error: 'access_denied', error_description: 'Your account is not allowed to use this MCP server.' });
const PREFLIGHT: Answer = { status: 204, headers: CORS_PREFLIGHT_HEADERS, body: null };

/** The answer of a step that stops the request, and what the audit record says of it. */
class Refusal {
  constructor(
    readonly answer: Answer,
    readonly reason: string,
  ) {}
}

/** What one request has gathered by the time it is recorded; the audit event grows as steps learn more. */
interface RequestState {
  readonly requestId: string;
  readonly started: number;
  readonly startedPrecise: number;
  /** The proxy's own headers on whatever is sent: request id, no sniffing, and CORS once admitted. */
  responseHeaders: Readonly<Record<string, string>>;
  /** Undefined until the request is one the audit log records (it passed the rebinding check and CORS). */
  audit: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } | undefined;
}

/**
 * The ordered steps of a proxied request: admit (rebinding check, CORS preflight, method) →
 * authenticate → authorize (access policy) → credential → bind the session → inspect →
 * forward → record. Each step is a small function of plain values; a step that refuses returns
 * the answer to give, and the record step logs, audits and counts whatever was sent.
 */
export function routePipeline(deps: PipelineDeps, endpoint: RouteEndpoints, credential: DownstreamCredential): RoutePipeline {
  const { route } = endpoint;
  const { logger } = deps;
  const scope = deps.config.scopes.join(' ') || undefined;
  const challenges = {
    missing: bearerChallenge({ resourceMetadata: endpoint.protectedResourceMetadata, scope }),
    invalid: bearerChallenge({ resourceMetadata: endpoint.protectedResourceMetadata, scope, error: 'invalid_token', description: INVALID_TOKEN }),
  };
  // A downstream 401 means it refused the upstream credential: the client should refresh with us.
  const downstreamRefusedChallenge = credential.signsIn
    ? bearerChallenge({ resourceMetadata: endpoint.protectedResourceMetadata, scope, error: 'invalid_token', description: 'The MCP server refused the credential; refresh the access token.' })
    : undefined;
  const bearerContext = { capsules: deps.capsules, replay: deps.replay, resource: endpoint.resource };
  const rebinding = rebindingCheck(route, deps.config.publicUrl);
  const tools = compileToolPolicy(route.tools);
  const observer: ForwardObserver = {
    downstreamError: (kind) => deps.metrics.downstreamErrors.inc({ route: endpoint.path, kind }),
    streamOpened: () => deps.metrics.openStream(endpoint.path),
  };
  const toDownstream = downstreamRequest(endpoint, deps.config);
  const auditEventName = route.kind === 'mcp' ? 'mcp_request' : 'http_request';

  /**
   * Steps that run before the audit log hears of the request: a refused rebinding (which gets no
   * CORS headers), a CORS preflight. A browser's request that passes gets the CORS headers.
   */
  function admit<R>(exchange: Exchange<R>, state: RequestState): Answer | undefined {
    const refused = rebinding?.(exchange.headers);
    if (refused !== undefined) {
      logger.info(`request ${refused.header} refused`, { route: endpoint.path, [refused.header]: refused.value, request_id: state.requestId });
      return rebindingAnswer(refused);
    }
    if (exchange.headers.get('origin') !== null) state.responseHeaders = { ...state.responseHeaders, ...CORS_RESPONSE_HEADERS };
    if (exchange.method === 'OPTIONS') return PREFLIGHT;
    return undefined;
  }

  /** The method alone decides, the same for every caller, so no token is checked for it. */
  function checkMethod(method: string): Refusal | undefined {
    const allow = refusedMethodAllow(route.kind, method);
    if (allow === undefined) return undefined;
    const body = route.kind === 'mcp'
      ? { jsonrpc: '2.0', id: null, error: { code: -32000, message: METHOD_NOT_ALLOWED } }
      : { error: 'method_not_allowed', error_description: METHOD_NOT_ALLOWED };
    return new Refusal(jsonAnswer(405, body, { allow }), 'method_not_allowed');
  }

  async function authenticate(authorization: string | null, state: RequestState): Promise<AccessPayload | Refusal> {
    const result = await verifyBearer(authorization ?? undefined, bearerContext);
    if (!result.ok) {
      logger.info('mcp request unauthorized', { route: endpoint.path, reason: result.reason, detail: result.detail, request_id: state.requestId });
      const invalid = result.reason === 'invalid';
      const body = { error: 'invalid_token', error_description: invalid ? INVALID_TOKEN : 'Authorization required.' };
      return new Refusal(jsonAnswer(401, body, { 'www-authenticate': invalid ? challenges.invalid : challenges.missing }), result.reason);
    }
    state.audit!.user = auditUser(result.token.identity);
    state.audit!.client = { id: result.token.cid };
    return result.token;
  }

  function authorize(token: AccessPayload, state: RequestState): Refusal | undefined {
    const decision = endpoint.access.decide(token.identity);
    if (decision.allowed) return undefined;
    deps.metrics.policyDenials.inc({ stage: 'request' });
    deps.audit.record({ ...state.audit!, event: 'policy_denied', outcome: 'denied', reason: decision.reason });
    return new Refusal(ACCESS_DENIED, decision.reason);
  }

  async function obtainCredential<R>(exchange: Exchange<R>, token: AccessPayload | undefined, state: RequestState): Promise<GrantedCredential | Refusal> {
    const outcome = await credential.credential({ token, headers: exchange.headers });
    if (outcome.ok) return outcome;
    logger.warn('downstream credential unavailable', { route: endpoint.path, error: outcome.error, detail: outcome.detail, request_id: state.requestId });
    const headers: Record<string, string> = outcome.challenge ? { 'www-authenticate': outcome.challenge } : {};
    return new Refusal(jsonAnswer(outcome.status, { error: outcome.error, error_description: outcome.description }, headers), outcome.error);
  }

  /** The client's session id opened and checked against its owner; the downstream's id it stands for. */
  async function bindSession<R>(exchange: Exchange<R>, owner: SessionOwner, state: RequestState) {
    const session = await checkSessionId(deps.capsules, exchange.headers.get('mcp-session-id') ?? undefined, owner);
    if (session.ok) return session;
    logger.info('mcp session id refused', { route: endpoint.path, detail: session.detail, request_id: state.requestId });
    return new Refusal(unknownSession(), 'unknown_session');
  }

  async function inspect<R>(exchange: Exchange<R>, token: AccessPayload | undefined, state: RequestState): Promise<Inspection & { kind: 'forward' } | Refusal> {
    const groups = token?.identity.groups ?? [];
    const inspection = await inspectMcpRequest(exchange, {
      ...(tools.restrictsAnything ? { isAllowed: (name: string) => tools.isAllowed(name, groups) } : {}),
      onOversize: (bytes) => logger.warn('tools/list response too large to filter; passed unfiltered', { route: endpoint.path, bytes, request_id: state.requestId }),
    });
    if (inspection.summary) {
      const requests = inspection.summary.messages.filter((message) => !message.isResponse);
      state.audit!.methods = requests.map((message) => message.method ?? '');
      const toolNames = requests.flatMap((message) => (message.toolName ? [message.toolName] : []));
      if (toolNames.length) state.audit!.tools = toolNames;
    }
    if (inspection.kind === 'forward') return inspection;
    if (inspection.reason === 'tool_refused') {
      deps.metrics.policyDenials.inc({ stage: 'tool' });
      deps.audit.record({ ...state.audit!, event: 'tool_denied', outcome: 'denied', tools: (inspection.refused ?? []).map((call) => call.toolName ?? '') });
    }
    return new Refusal(inspection.answer, inspection.reason);
  }

  /** Authenticate → authorize → credential → session → inspect: what to forward, or why not. */
  async function prepare<R>(exchange: Exchange<R>, path: string, state: RequestState): Promise<ForwardRequest | Refusal> {
    const methodRefused = checkMethod(exchange.method);
    if (methodRefused) return methodRefused;

    let token: AccessPayload | undefined;
    if (credential.signsIn) {
      const authenticated = await authenticate(exchange.headers.get('authorization'), state);
      if (authenticated instanceof Refusal) return authenticated;
      token = authenticated;
      const denied = authorize(token, state);
      if (denied) return denied;
    }

    const outcome = await obtainCredential(exchange, token, state);
    if (outcome instanceof Refusal) return outcome;

    const common = {
      outcome,
      requestId: state.requestId,
      responseHeaders: state.responseHeaders,
      observer,
      ...(downstreamRefusedChallenge ? { unauthorizedChallenge: downstreamRefusedChallenge } : {}),
    };
    if (route.kind === 'http') return toDownstream(exchange, path, common);

    const owner: SessionOwner = {
      route: endpoint.path,
      ...(token ? { sub: token.identity.sub, cid: token.cid } : {}),
      ...(outcome.caller !== undefined ? { caller: outcome.caller } : {}),
    };
    const session = await bindSession(exchange, owner, state);
    if (session instanceof Refusal) return session;
    const inspected = await inspect(exchange, token, state);
    if (inspected instanceof Refusal) return inspected;
    return toDownstream(exchange, path, {
      ...common,
      ...inspected.forward,
      sessionId: clientSessionIds(deps.capsules, session, owner),
      ...(session.downstreamId !== undefined ? { downstreamSessionId: session.downstreamId } : {}),
    });
  }

  /** The record step: the audit event (for requests past admission), the access log line, the metrics. */
  function record(state: RequestState, method: string, path: string, metricsRoute: string, status: number, outcome: Pick<AuditEvent, 'outcome' | 'reason'>): void {
    const now = deps.clock();
    if (state.audit !== undefined) deps.audit.record({ ...state.audit, ...outcome, status, latency_ms: now - state.started });
    if (logsAt(logger, 'info')) logger.info('request', { request_id: state.requestId, method, path, status, ms: now - state.started });
    if (deps.config.metrics.enabled) {
      deps.metrics.httpRequests.inc({ route: metricsRoute, method: methodLabel(method), status });
      deps.metrics.httpRequestDuration.observe({ route: metricsRoute }, (performance.now() - state.startedPrecise) / 1000);
    }
  }

  async function handle<R>(exchange: Exchange<R>, path: string, metricsRoute: string): Promise<R> {
    const requestId = requestIdFor(exchange.headers.get('x-request-id'), deps.newRequestId);
    const state: RequestState = {
      requestId,
      started: deps.clock(),
      startedPrecise: performance.now(),
      // Error bodies may quote what a caller sent; a browser must never sniff them into HTML.
      responseHeaders: { 'x-request-id': requestId, 'x-content-type-options': 'nosniff' },
      audit: undefined,
    };
    let sent: Sent<R>;
    let outcome: Pick<AuditEvent, 'outcome' | 'reason'>;
    try {
      const admission = admit(exchange, state);
      if (admission !== undefined) {
        sent = { status: admission.status, result: exchange.reply(admission, state.responseHeaders) };
        outcome = {};
      } else {
        state.audit = { event: auditEventName, route: endpoint.path, request_id: requestId };
        const prepared = await prepare(exchange, path, state);
        if (prepared instanceof Refusal) {
          sent = { status: prepared.answer.status, result: exchange.reply(prepared.answer, state.responseHeaders) };
          outcome = { outcome: 'denied', reason: prepared.reason };
        } else {
          sent = await exchange.forward(prepared);
          outcome = { outcome: 'allowed' };
        }
      }
    } catch (error) {
      logger.error('unhandled error', { error, path, request_id: requestId });
      if (!exchange.canReply()) throw error;
      sent = { status: 500, result: exchange.reply(SERVER_ERROR, state.responseHeaders) };
      outcome = { outcome: 'error' };
    }
    record(state, exchange.method, path, metricsRoute, sent.status, outcome);
    return sent.result;
  }

  return { endpoint, handle };
}
