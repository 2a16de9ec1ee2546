import type { HeaderSource } from '../../domain/header-source.js';
import { checkSessionId, unknownSession, type SessionCheck, type SessionOwner } from '../../mcp/session-binding.js';
import { Refusal, type RequestState, type RouteContext } from '../route-context.js';

/** The client's `Mcp-Session-Id` opened and checked against its owner; a session of someone else's is one the server does not know. */
export async function bindSession(
  route: RouteContext,
  headers: HeaderSource,
  owner: SessionOwner,
  state: RequestState,
): Promise<(SessionCheck & { ok: true }) | Refusal> {
  const session = await checkSessionId(route.deps.capsules, headers.get('mcp-session-id') ?? undefined, owner);
  if (session.ok) return session;
  route.deps.logger.info('mcp session id refused', { route: route.endpoint.path, detail: session.detail, request_id: state.requestId });
  return new Refusal(unknownSession(), 'unknown_session');
}
