import type { Answer } from '../../domain/answer.js';
import type { HeaderSource } from '../../domain/header-source.js';
import type { BodyRead } from '../../net/capped-body.js';
import type { ResponseRewrite } from '../../proxy/forwarder.js';
import { DEFAULT_MAX_REQUEST_BODY_BYTES, parseJsonRpcBody, toolsListRequestIds } from './jsonrpc.js';
import type { JsonRpcMessageSummary, JsonRpcSummary } from './jsonrpc.js';
import { checkMcpHeaders } from './mcp-headers.js';
import {
  bodyTooLargeAnswer,
  headerMismatchAnswer,
  localAnswer,
  malformedBodyAnswer,
  refusedToolCalls,
  toolRefusal,
} from './refusals.js';
import { callsLackingScope, type ToolScopes } from './tool-scopes.js';
import { toolsListResponseRewrite } from './tools-list-filter.js';

export interface InspectionOptions {
  /** Largest request body read (default 4 MB); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** The user's tool permission (e.g. `(name) => policy.isAllowed(name, groups)`); absent = every tool allowed. */
  readonly isAllowed?: (toolName: string) => boolean;
  /** Bound for one filtered JSON body or SSE event (default 8 MB). */
  readonly maxFilteredBytes?: number;
  /** A tools/list response too large to filter went through unfiltered. */
  readonly onOversize?: (bytes: number) => void;
  /** Tools removed from a tools/list response. */
  readonly onFiltered?: (removed: readonly string[]) => void;
  /** The scopes each tool needs and those the caller's token holds; absent = no tool needs a scope. */
  readonly scopes?: { readonly required: ToolScopes; readonly held: readonly string[] };
}

export type InspectionRefusal =
  | 'too_large'
  | 'aborted'
  | 'parse_error'
  | 'invalid_request'
  | 'header_mismatch'
  | 'tool_refused';

/** What inspection reads of the request: its method, headers, and a capped read of its body. */
export interface InspectedRequest {
  readonly method: string;
  readonly headers: HeaderSource;
  readBody(maxBytes: number): Promise<BodyRead>;
}

export type Inspection =
  | {
      readonly kind: 'answer';
      /** Send this instead of forwarding. */
      readonly answer: Answer;
      readonly reason: InspectionRefusal;
      readonly summary?: JsonRpcSummary;
      readonly refused?: readonly JsonRpcMessageSummary[];
    }
  | {
      /** A call needs scopes the token lacks: the route answers with its step-up challenge (403 insufficient_scope). */
      readonly kind: 'insufficient_scope';
      readonly lacking: readonly string[];
      readonly summary: JsonRpcSummary;
      readonly refused: readonly JsonRpcMessageSummary[];
    }
  | {
      readonly kind: 'forward';
      /** Spread into the ForwardRequest. */
      readonly forward: { readonly body?: Uint8Array; readonly transformResponse?: ResponseRewrite };
      /** What the POST carried (for the audit log); absent for other methods. */
      readonly summary?: JsonRpcSummary;
    };

/**
 * The MCP route's inspection of one authorized request, in order: bounded read, JSON-RPC
 * parse, Mcp-Method/Mcp-Name agreement, tool permission, tool scopes, then the tools/list filter
 * for the response. A tool the user may not use is "not available" before its scopes are looked
 * at, so a scope challenge never reveals a hidden tool; tools/list keeps listing tools whatever
 * the token's scopes, for clients to discover what a step-up would allow.
 * POST bodies are always inspected (header agreement applies without a policy);
 * a GET that resumes a stream (Last-Event-ID) gets the filter in 'any' mode, since its
 * requests were never seen; other methods pass.
 */
export async function inspectMcpRequest(request: InspectedRequest, options: InspectionOptions = {}): Promise<Inspection> {
  const { isAllowed } = options;
  if (request.method !== 'POST') {
    if (request.method === 'GET' && isAllowed !== undefined && request.headers.get('last-event-id') !== null) {
      return { kind: 'forward', forward: { transformResponse: toolsListResponseRewrite({ requestIds: 'any', ...filterOptions(options) }) } };
    }
    return { kind: 'forward', forward: {} };
  }

  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const read = await request.readBody(maxBytes);
  if (!read.ok) {
    const answer = read.reason === 'too_large' ? bodyTooLargeAnswer(maxBytes) : ({ status: 400, body: null } as const);
    return { kind: 'answer', answer: localAnswer(answer), reason: read.reason };
  }

  const parsed = parseJsonRpcBody(read.body);
  if (!parsed.ok) return { kind: 'answer', answer: localAnswer(malformedBodyAnswer(parsed.error)), reason: parsed.error };
  const { summary } = parsed;

  const headers = checkMcpHeaders(request.headers, summary);
  if (!headers.ok) {
    return { kind: 'answer', answer: localAnswer(headerMismatchAnswer(headers, summary)), reason: 'header_mismatch', summary };
  }

  const refused = isAllowed === undefined ? [] : refusedToolCalls(summary, isAllowed);
  if (refused.length > 0) {
    return { kind: 'answer', answer: localAnswer(toolRefusal(summary, refused)), reason: 'tool_refused', summary, refused };
  }
  if (options.scopes !== undefined) {
    const { calls, lacking } = callsLackingScope(summary, options.scopes.required, options.scopes.held);
    if (calls.length > 0) return { kind: 'insufficient_scope', lacking, summary, refused: calls };
  }
  if (isAllowed === undefined) return { kind: 'forward', forward: { body: read.body }, summary };
  const listIds = toolsListRequestIds(summary);
  if (listIds.size === 0) return { kind: 'forward', forward: { body: read.body }, summary };
  return {
    kind: 'forward',
    forward: { body: read.body, transformResponse: toolsListResponseRewrite({ requestIds: listIds, ...filterOptions(options) }) },
    summary,
  };
}

/** The tools/list filter's settings, made only for a request whose response is filtered. */
function filterOptions(options: InspectionOptions) {
  return {
    isAllowed: options.isAllowed ?? (() => true),
    ...(options.maxFilteredBytes !== undefined ? { maxBytes: options.maxFilteredBytes } : {}),
    ...(options.onOversize ? { onOversize: options.onOversize } : {}),
    ...(options.onFiltered ? { onFiltered: options.onFiltered } : {}),
  };
}
