import { jsonAnswer, type Answer } from '../../domain/answer.js';
import { CORS_PREFLIGHT_HEADERS, CORS_RESPONSE_HEADERS } from '../../domain/cors.js';
import { refusedMethodAllow } from '../../mcp/allowed-methods.js';
import { rebindingAnswer } from '../../mcp/origin-guard.js';
import type { Exchange } from '../exchange.js';
import { Refusal, type RequestState, type RouteContext } from '../route-context.js';

const PREFLIGHT: Answer = { status: 204, headers: CORS_PREFLIGHT_HEADERS, body: null };
const METHOD_NOT_ALLOWED = 'This method is not forwarded on this route.';

/**
 * What runs before the audit log hears of a request: a refused DNS rebinding (which gets no CORS
 * headers) and a CORS preflight are answered here. A browser's request that passes gets the CORS
 * headers on whatever it is answered.
 */
export function admit<R>(route: RouteContext, exchange: Exchange<R>, state: RequestState): Answer | undefined {
  const refused = route.rebinding?.(exchange.headers);
  if (refused !== undefined) {
    route.deps.logger.info(`request ${refused.header} refused`, { route: route.endpoint.path, [refused.header]: refused.value, request_id: state.requestId });
    return rebindingAnswer(refused);
  }
  if (exchange.headers.get('origin') !== null) state.responseHeaders = { ...state.responseHeaders, ...CORS_RESPONSE_HEADERS };
  return exchange.method === 'OPTIONS' ? PREFLIGHT : undefined;
}

/**
 * Methods the route does not forward, refused before any credential is looked at: the method
 * alone decides, the same for every caller. A JSON-RPC error on MCP routes (code -32000, as the
 * MCP SDK's own 405), an OAuth-style error on http routes.
 */
export function checkMethod(route: RouteContext, method: string): Refusal | undefined {
  const { kind } = route.endpoint.route;
  const allow = refusedMethodAllow(kind, method);
  if (allow === undefined) return undefined;
  const body = kind === 'mcp'
    ? { jsonrpc: '2.0', id: null, error: { code: -32000, message: METHOD_NOT_ALLOWED } }
    : { error: 'method_not_allowed', error_description: METHOD_NOT_ALLOWED };
  return new Refusal(jsonAnswer(405, body, { allow }), 'method_not_allowed');
}
