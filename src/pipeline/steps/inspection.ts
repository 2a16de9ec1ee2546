import type { AccessPayload } from '../../domain/capsule-schemas.js';
import { inspectMcpRequest, type InspectedRequest, type Inspection } from '../../mcp/inspection/inspect-request.js';
import { Refusal, type RequestState, type RouteContext } from '../route-context.js';

const NO_GROUPS: readonly string[] = [];

/**
 * The MCP request's body read (bounded), parsed and checked: header agreement, the user's tool
 * permissions, and a filter for a tools/list answer. What it carries goes into the audit event;
 * a refused tool call is audited on its own as well.
 */
export async function inspect(
  route: RouteContext,
  request: InspectedRequest,
  token: AccessPayload | undefined,
  state: RequestState,
): Promise<(Inspection & { kind: 'forward' }) | Refusal> {
  const { tools, deps, endpoint } = route;
  const groups = token?.identity.groups ?? NO_GROUPS;
  const inspection = await inspectMcpRequest(request, {
    ...(tools.restrictsAnything ? { isAllowed: (name: string) => tools.isAllowed(name, groups) } : {}),
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
  if (inspection.reason === 'tool_refused') {
    deps.metrics.policyDenials.inc({ stage: 'tool' });
    deps.audit.record({ ...audit, event: 'tool_denied', outcome: 'denied', tools: (inspection.refused ?? []).map((call) => call.toolName ?? '') });
  }
  return new Refusal(inspection.answer, inspection.reason);
}
