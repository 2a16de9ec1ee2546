import { emptyAnswer, jsonAnswer, type Answer } from '../../domain/answer.js';
import type { JsonRpcMessageSummary, JsonRpcParseErrorKind, JsonRpcSummary } from './jsonrpc.js';
import type { McpHeaderCheck } from './mcp-headers.js';

/**
 * Answers the proxy gives itself, without the downstream server.
 *
 * Codes:
 * - -32602 for a tool that is disabled or not allowed to this user: what the MCP spec lists
 *   for unknown tools and what the TypeScript SDK's McpServer raises (`Tool x not found` /
 *   `disabled`), so clients treat it as "no such tool", not as a transport failure. The
 *   message is the same whether the tool exists or not.
 * - -32600 for the other requests of a batch refused because of such a call, for bodies that
 *   are JSON but not JSON-RPC, and for bodies over the size bound (HTTP 413).
 * - -32700 for bodies that are not JSON; -32020 (HeaderMismatch, MCP 2026-07-28) for
 *   `Mcp-Method`/`Mcp-Name` disagreeing with the body, with HTTP 400.
 *
 * Batches (MCP 2025-03-26 only): if any call is refused, nothing is forwarded and the whole
 * batch is answered here: each request gets an error with its own id, refused calls -32602,
 * the others -32600 "batch refused". Forwarding the rest would split one client message into
 * a partial execution the client did not ask for, and change the framing of the answer.
 * Notifications (and client responses) in the batch get no entry and are dropped.
 *
 * Notifications never get a JSON-RPC answer: a refused lone notification, or a refused batch
 * made only of notifications/responses, gets HTTP 400 with an empty body (the transport's
 * "cannot accept it" answer).
 */

export const PARSE_ERROR_CODE = -32700;
export const INVALID_REQUEST_CODE = -32600;
export const TOOL_NOT_AVAILABLE_CODE = -32602;
export const BATCH_REFUSED_CODE = -32600;
export const HEADER_MISMATCH_CODE = -32020;

/** An answer to send instead of forwarding: `body` is JSON text, or null for an empty body. */
export interface LocalAnswer {
  readonly status: 200 | 400 | 413;
  readonly body: string | null;
}

const MAX_NAME_IN_MESSAGE = 128;

function shown(name: string): string {
  return name.length <= MAX_NAME_IN_MESSAGE ? name : `${name.slice(0, MAX_NAME_IN_MESSAGE)}…`;
}

function errorJson(idJson: string | undefined, code: number, message: string): string {
  return `{"jsonrpc":"2.0","id":${idJson ?? 'null'},"error":${JSON.stringify({ code, message })}}`;
}

/** The `tools/call` messages (requests and notifications) whose tool the user may not use. */
export function refusedToolCalls(
  summary: JsonRpcSummary,
  isAllowed: (toolName: string) => boolean,
): readonly JsonRpcMessageSummary[] {
  const refused: JsonRpcMessageSummary[] = [];
  for (const message of summary.messages) {
    if (message.toolName !== undefined && !isAllowed(message.toolName)) refused.push(message);
  }
  return refused;
}

export function toolNotAvailableMessage(toolName: string): string {
  return `Tool ${shown(toolName)} is not available`;
}

/** The answer for a body with at least one refused call (see `refusedToolCalls`). */
export function toolRefusal(summary: JsonRpcSummary, refused: readonly JsonRpcMessageSummary[]): LocalAnswer {
  const refusedSet = new Set(refused);
  const entries: string[] = [];
  for (const message of summary.messages) {
    if (message.isNotification || message.isResponse) continue;
    entries.push(
      refusedSet.has(message)
        ? errorJson(message.idJson, TOOL_NOT_AVAILABLE_CODE, toolNotAvailableMessage(message.toolName!))
        : errorJson(message.idJson, BATCH_REFUSED_CODE, 'Batch refused: it contains a call to a tool that is not available'),
    );
  }
  if (entries.length === 0) return { status: 400, body: null };
  return { status: 200, body: summary.batch ? `[${entries.join(',')}]` : entries[0]! };
}

/** A body that is not JSON (-32700) or not JSON-RPC (-32600): HTTP 400, id null. */
export function malformedBodyAnswer(error: JsonRpcParseErrorKind): LocalAnswer {
  return error === 'parse_error'
    ? { status: 400, body: errorJson(undefined, PARSE_ERROR_CODE, 'Parse error') }
    : { status: 400, body: errorJson(undefined, INVALID_REQUEST_CODE, 'Invalid Request') };
}

/** HTTP 400 with -32020; the id of a lone request is echoed, otherwise null. */
export function headerMismatchAnswer(check: Extract<McpHeaderCheck, { ok: false }>, summary: JsonRpcSummary): LocalAnswer {
  const header = check.header === 'mcp-method' ? 'Mcp-Method' : 'Mcp-Name';
  const message =
    check.reason === 'batch'
      ? `Header mismatch: ${header} cannot describe a batch`
      : check.reason === 'malformed'
        ? `Header mismatch: ${header} has a malformed Base64 value`
        : `Header mismatch: ${header} does not match the request body`;
  const only = summary.batch ? undefined : summary.messages[0];
  const idJson = only !== undefined && !only.isNotification ? only.idJson : undefined;
  return { status: 400, body: errorJson(idJson, HEADER_MISMATCH_CODE, message) };
}

export function bodyTooLargeAnswer(maxBytes: number): LocalAnswer {
  return { status: 413, body: errorJson(undefined, INVALID_REQUEST_CODE, `Request body larger than ${maxBytes} bytes`) };
}

/** The JSON-RPC answer as the proxy sends it. */
export function localAnswer(answer: LocalAnswer): Answer {
  return answer.body === null ? emptyAnswer(answer.status) : jsonAnswer(answer.status, answer.body);
}
