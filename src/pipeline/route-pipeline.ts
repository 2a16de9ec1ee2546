import { jsonAnswer } from '../domain/answer.js';
import type { DownstreamCredential } from '../downstream/credential.js';
import { clientSessionIds, type SessionOwner } from '../mcp/session-binding.js';
import type { RouteEndpoints } from '../oauth/endpoints.js';
import { serverError } from '../oauth/errors.js';
import { requestIdFor } from '../observability/request-id.js';
import type { ForwardRequest } from '../proxy/forwarder.js';
import type { Exchange, Sent } from './exchange.js';
import type { ForwardParts } from './outbound.js';
import { Refusal, routeContext, type PipelineDeps, type RequestState, type RouteContext } from './route-context.js';
import { admit, checkMethod } from './steps/admission.js';
import { authenticate, authorize } from './steps/authentication.js';
import { obtainCredential } from './steps/credential.js';
import { inspect } from './steps/inspection.js';
import { record, type Outcome, type Sending } from './steps/record.js';
import { bindSession } from './steps/session.js';

export type { PipelineDeps } from './route-context.js';

/** One MCP (or `kind: http`) route's handling of a request, whatever the runtime. */
export interface RoutePipeline {
  readonly endpoint: RouteEndpoints;
  /** Handles one request; `path` is the request's path (a subpath on http routes) and `metricsRoute` its route label. */
  handle<R>(exchange: Exchange<R>, path: string, metricsRoute: string): Promise<R>;
}

const SERVER_ERROR = jsonAnswer(500, serverError('an unexpected error in the route pipeline').toJSON());

/**
 * The ordered steps of a proxied request: admit (rebinding check, CORS) → checkMethod →
 * authenticate → authorize (access policy) → obtainCredential → bindSession → inspect →
 * forward → record. Each step is a small function of plain values (src/pipeline/steps); a step
 * that refuses returns the answer to give, and the record step logs, audits and counts whatever
 * was sent, from the status the exchange reports, once the response is on its way.
 */
export function routePipeline(deps: PipelineDeps, endpoint: RouteEndpoints, credential: DownstreamCredential): RoutePipeline {
  const route = routeContext(deps, endpoint, credential);
  return { endpoint, handle: (exchange, path, metricsRoute) => handle(route, exchange, path, metricsRoute) };
}

/** checkMethod → authenticate → authorize → obtainCredential → bindSession → inspect: what to forward, or why not. */
async function prepare<R>(route: RouteContext, exchange: Exchange<R>, path: string, state: RequestState): Promise<ForwardRequest | Refusal> {
  const methodRefused = checkMethod(route, exchange.method);
  if (methodRefused) return methodRefused;

  let token;
  if (route.credential.signsIn) {
    const authenticated = await authenticate(route, exchange.headers.get('authorization'), state);
    if (authenticated instanceof Refusal) return authenticated;
    token = authenticated;
    const denied = authorize(route, token, state);
    if (denied) return denied;
  }

  const outcome = await obtainCredential(route, exchange.headers, token, state);
  if (outcome instanceof Refusal) return outcome;
  const parts: { -readonly [K in keyof ForwardParts]: ForwardParts[K] } = {
    outcome,
    requestId: state.requestId,
    responseHeaders: state.responseHeaders,
    observer: route.observer,
    unauthorizedChallenge: route.downstreamRefusedChallenge,
  };
  if (route.endpoint.route.kind === 'http') return route.toDownstream(exchange, path, parts);

  const owner: SessionOwner = { route: route.endpoint.path };
  if (token) {
    owner.sub = token.identity.sub;
    owner.cid = token.cid;
  }
  if (outcome.caller !== undefined) owner.caller = outcome.caller;
  const session = await bindSession(route, exchange.headers, owner, state);
  if (session instanceof Refusal) return session;
  const inspected = await inspect(route, exchange, token, state);
  if (inspected instanceof Refusal) return inspected;
  parts.body = inspected.forward.body;
  parts.transformResponse = inspected.forward.transformResponse;
  parts.sessionId = clientSessionIds(route.deps.capsules, session, owner);
  parts.downstreamSessionId = session.downstreamId;
  return route.toDownstream(exchange, path, parts);
}

async function handle<R>(route: RouteContext, exchange: Exchange<R>, path: string, metricsRoute: string): Promise<R> {
  const { deps } = route;
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
  let outcome: Outcome;
  try {
    const admission = admit(route, exchange, state);
    if (admission !== undefined) {
      sent = { status: admission.status, result: exchange.reply(admission, state.responseHeaders) };
      outcome = {};
    } else {
      state.audit = { event: route.auditEventName, route: route.endpoint.path, request_id: requestId };
      const prepared = await prepare(route, exchange, path, state);
      if (prepared instanceof Refusal) {
        sent = { status: prepared.answer.status, result: exchange.reply(prepared.answer, state.responseHeaders) };
        outcome = { outcome: 'denied', reason: prepared.reason };
      } else {
        sent = await exchange.forward(prepared);
        outcome = { outcome: 'allowed' };
      }
    }
  } catch (error) {
    deps.logger.error('unhandled error', { error, path, request_id: requestId });
    if (!exchange.canReply()) throw error;
    sent = { status: 500, result: exchange.reply(SERVER_ERROR, state.responseHeaders) };
    outcome = { outcome: 'error' };
  }
  const sending: Sending = {
    method: exchange.method,
    path,
    metricsRoute,
    status: sent.status,
    ms: deps.clock() - state.started,
    seconds: (performance.now() - state.startedPrecise) / 1000,
  };
  exchange.afterResponse(() => {
    try {
      record(route, state, sending, outcome);
    } catch (error) {
      deps.logger.error('request not recorded', { error, path, request_id: requestId });
    }
  });
  return sent.result;
}
