import { idRoundTrips, rawIdLexemes } from './raw-ids.js';

/**
 * What the proxy needs to know about a POSTed JSON-RPC body, and nothing more: each
 * message's kind, id, method and the name it targets. Hand-written checks rather than
 * zod: this runs on every POST and reads a handful of members.
 */

export type JsonRpcId = string | number | null;

export interface JsonRpcMessageSummary {
  /** `undefined` for notifications. */
  readonly id: JsonRpcId | undefined;
  /** The id exactly as the client wrote it (its source text for ids JSON cannot round-trip), for echoing back. */
  readonly idJson: string | undefined;
  /** `undefined` for responses. */
  readonly method: string | undefined;
  /** `params.name` of a `tools/call`. */
  readonly toolName?: string;
  /** What `Mcp-Name` mirrors: `params.name` when a string, else `params.uri` when a string. */
  readonly mcpName?: string;
  readonly isNotification: boolean;
  /** A response the client sent to a server request (allowed before MCP 2026-07-28). */
  readonly isResponse: boolean;
}

export interface JsonRpcSummary {
  /** The body was an array (JSON-RPC batch, MCP 2025-03-26 only). */
  readonly batch: boolean;
  readonly messages: readonly JsonRpcMessageSummary[];
}

/** `parse_error` answers JSON-RPC -32700 (not JSON), `invalid_request` -32600 (JSON, not JSON-RPC). */
export type JsonRpcParseErrorKind = 'parse_error' | 'invalid_request';

export type JsonRpcParseResult =
  | { readonly ok: true; readonly summary: JsonRpcSummary }
  | { readonly ok: false; readonly error: JsonRpcParseErrorKind; readonly detail: string };

/** The request body size the MCP route reads before refusing with 413. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) || value === null;
}

/** A string key for matching a response's id to a request's (`1` and `"1"` are different ids). */
export function idKey(id: JsonRpcId): string {
  return typeof id === 'string' ? `s:${id}` : `n:${String(id)}`;
}

function summarize(message: unknown, idJson: () => string | undefined): JsonRpcMessageSummary | string {
  if (!isObject(message)) return 'a message must be a JSON object';
  if (message['jsonrpc'] !== '2.0') return 'jsonrpc must be "2.0"';
  const hasId = Object.hasOwn(message, 'id');
  const id = message['id'];
  if (hasId && !isId(id)) return 'id must be a string, a number or null';
  const echoedId = hasId ? (idRoundTrips(id) ? JSON.stringify(id) : idJson()) : undefined;

  if (Object.hasOwn(message, 'method')) {
    const method = message['method'];
    if (typeof method !== 'string') return 'method must be a string';
    const params = message['params'];
    if (Object.hasOwn(message, 'params') && (typeof params !== 'object' || params === null)) {
      return 'params must be an object or an array';
    }
    const name = isObject(params) ? params['name'] : undefined;
    const uri = isObject(params) ? params['uri'] : undefined;
    const mcpName = typeof name === 'string' ? name : typeof uri === 'string' ? uri : undefined;
    if (method === 'tools/call' && typeof name !== 'string') return 'tools/call needs params.name as a string';
    return {
      id: hasId ? (id as JsonRpcId) : undefined,
      idJson: echoedId,
      method,
      ...(method === 'tools/call' ? { toolName: name as string } : {}),
      ...(mcpName === undefined ? {} : { mcpName }),
      isNotification: !hasId,
      isResponse: false,
    };
  }

  const hasResult = Object.hasOwn(message, 'result');
  const hasError = Object.hasOwn(message, 'error');
  if (hasResult === hasError) return 'not a request, a notification or a response';
  if (!hasId) return 'a response needs an id';
  return { id: id as JsonRpcId, idJson: echoedId, method: undefined, isNotification: false, isResponse: true };
}

/**
 * Parses a request body (already bounded by the caller) as one JSON-RPC 2.0 message or a batch.
 * Strict where the proxy must decide (a `tools/call` without a string name is refused, since no
 * policy could be applied to it), lenient elsewhere (unknown members are the server's business).
 * A batch with any malformed element is refused whole.
 */
export function parseJsonRpcBody(body: Uint8Array): JsonRpcParseResult {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(body);
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'parse_error', detail: 'the body is not UTF-8 JSON' };
  }

  let raw: Array<string | undefined> | undefined;
  const rawId = (index: number) => () => (raw ??= rawIdLexemes(text))[index];

  if (!Array.isArray(value)) {
    const message = summarize(value, rawId(0));
    if (typeof message === 'string') return { ok: false, error: 'invalid_request', detail: message };
    return { ok: true, summary: { batch: false, messages: [message] } };
  }
  if (value.length === 0) return { ok: false, error: 'invalid_request', detail: 'an empty batch' };
  const messages: JsonRpcMessageSummary[] = [];
  for (let index = 0; index < value.length; index++) {
    const message = summarize(value[index], rawId(index));
    if (typeof message === 'string') {
      return { ok: false, error: 'invalid_request', detail: `batch element ${index}: ${message}` };
    }
    messages.push(message);
  }
  return { ok: true, summary: { batch: true, messages } };
}

/** Keys (see `idKey`) of the `tools/list` requests in a body: their responses get filtered. */
export function toolsListRequestIds(summary: JsonRpcSummary): Set<string> {
  const ids = new Set<string>();
  for (const message of summary.messages) {
    if (message.method === 'tools/list' && message.id !== undefined) ids.add(idKey(message.id));
  }
  return ids;
}

export { checkMcpHeaders } from './mcp-headers.js';
export type { McpHeaderCheck, McpHeaderName, HeaderSource } from './mcp-headers.js';
