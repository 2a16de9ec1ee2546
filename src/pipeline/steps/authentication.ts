import { jsonAnswer } from '../../domain/answer.js';
import type { AccessPayload } from '../../domain/capsule-schemas.js';
import { verifyBearer } from '../../mcp/bearer.js';
import { auditUser } from '../../observability/audit.js';
import { INVALID_TOKEN, Refusal, type RequestState, type RouteContext } from '../route-context.js';

const ACCESS_DENIED = jsonAnswer(403, { error: 'access_denied', error_description: 'Your account is not allowed to use this MCP server.' });

/** 401 with the route's challenge: no token, or one that cannot be used here (`detail` says why, for the log). */
export function unauthorized(route: RouteContext, reason: 'missing' | 'invalid', detail: string, state: RequestState): Refusal {
  route.deps.logger.info('mcp request unauthorized', { route: route.endpoint.path, reason, detail, request_id: state.requestId });
  const invalid = reason === 'invalid';
  const body = { error: 'invalid_token', error_description: invalid ? INVALID_TOKEN : 'Authorization required.' };
  return new Refusal(jsonAnswer(401, body, { 'www-authenticate': invalid ? route.challenges.invalid : route.challenges.missing }), reason);
}

/** The proxy's own access token, on routes where clients sign in: 401 with the route's challenge without a valid one. */
export async function authenticate(route: RouteContext, authorization: string | null, state: RequestState): Promise<AccessPayload | Refusal> {
  const result = await verifyBearer(authorization ?? undefined, route.bearerContext);
  if (!result.ok) return unauthorized(route, result.reason, result.detail, state);
  state.audit!.user = auditUser(result.token.identity);
  state.audit!.client = { id: result.token.cid };
  return result.token;
}

/** The route's access policy, on every request: a user removed from an allowed group loses access at once. */
export function authorize(route: RouteContext, token: AccessPayload, state: RequestState): Refusal | undefined {
  const decision = route.endpoint.access.decide(token.identity);
  if (decision.allowed) return undefined;
  route.deps.metrics.policyDenials.inc({ stage: 'request' });
  route.deps.audit.record({ ...state.audit!, event: 'policy_denied', outcome: 'denied', reason: decision.reason });
  return new Refusal(ACCESS_DENIED, decision.reason);
}
