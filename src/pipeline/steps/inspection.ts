import { jsonAnswer } from '../../domain/answer.js';
import type { AccessPayload } from '../../domain/capsule-schemas.js';
import { scopeTokens, scopeUnion } from '../../domain/scope.js';
import { inspectMcpRequest, type InspectedRequest, type Inspection } from '../../mcp/inspection/inspect-request.js';
import { noteStepUp } from '../../store/step-up.js';
import { INSUFFICIENT_SCOPE, Refusal, type RequestState, type RouteContext } from '../route-context.js';

const NO_GROUPS: readonly string[] = [];

/**
 * The MCP request's body read (bounded), parsed and checked: header agreement, the user's tool
 * permissions and the token's scopes, and a filter for a tools/list answer. What it carries goes
 * into the audit event; a refused tool call is audited on its own as well.
 */
export async function inspect(
  route: RouteContext,
  request: InspectedRequest,
  token: AccessPayload | undefined,
  state: RequestState,
): Promise<(Inspection & { kind: 'forward' }) | Refusal> {
  const { tools, toolScopes, deps, endpoint } = route;
  const groups = token?.identity.groups ?? NO_GROUPS;
  const inspection = await inspectMcpRequest(request, {
    ...(tools.restrictsAnything ? { isAllowed: (name: string) => tools.isAllowed(name, groups) } : {}),
    ...(toolScopes ? { scopes: { required: toolScopes, held: scopeTokens(token?.scope) } } : {}),
    onOversize: (bytes) => deps.logger.warn('tools/list response too large to filter; passed unfiltered', { route: endpoint.path, bytes, request_id: state.requestId }),
  });
  const audit = state.audit!;
  if (inspection.summary) {
    const methods: string[] = [];
    const toolNames: string[] = [];
    for (const message of inspection.summary.messages) {
      if (message.isResponse) continue;
      methods.push(message.method ?? '');
      if (message.toolName) toolNames.push(message.toolName);
    }
    audit.methods = methods;
    if (toolNames.length) audit.tools = toolNames;
  }
  if (inspection.kind === 'forward') return inspection;
  if (inspection.kind === 'insufficient_scope') {
    deps.metrics.policyDenials.inc({ stage: 'scope' });
    deps.audit.record({ ...audit, event: 'tool_denied', outcome: 'denied', reason: 'insufficient_scope', tools: inspection.refused.map((call) => call.toolName ?? '') });
    return stepUp(route, token, inspection.lacking);
  }
  if (inspection.reason === 'tool_refused') {
    deps.metrics.policyDenials.inc({ stage: 'tool' });
    deps.audit.record({ ...audit, event: 'tool_denied', outcome: 'denied', tools: (inspection.refused ?? []).map((call) => call.toolName ?? '') });
  }
  return new Refusal(inspection.answer, inspection.reason);
}

/**
 * 403 insufficient_scope (RFC 6750 §3.1) naming the scopes held as well as those lacking: a client asks
 * for exactly the scopes challenged, so naming only the lacking ones would cost it those it has.
 */
async function stepUp(route: RouteContext, token: AccessPayload | undefined, lacking: readonly string[]): Promise<Refusal> {
  // Only routes where users sign in have tool scopes (the configuration refuses them elsewhere), so there is a token.
  if (token) await noteStepUp(route.deps.replay, token.gid, route.deps.capsules.nowSeconds());
  const scope = scopeUnion(scopeTokens(token?.scope), lacking).join(' ');
  const body = { error: 'insufficient_scope', error_description: INSUFFICIENT_SCOPE };
  return new Refusal(jsonAnswer(403, body, { 'www-authenticate': route.challenges.insufficientScope(scope) }), 'insufficient_scope');
}
