export {
  parseJsonRpcBody,
  toolsListRequestIds,
  idKey,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
} from './jsonrpc.js';
export type {
  JsonRpcId,
  JsonRpcMessageSummary,
  JsonRpcSummary,
  JsonRpcParseErrorKind,
  JsonRpcParseResult,
} from './jsonrpc.js';
export { checkMcpHeaders, decodeMcpHeaderValue } from './mcp-headers.js';
export type { McpHeaderCheck, McpHeaderName, HeaderSource } from './mcp-headers.js';
export { compileToolPolicy } from './tool-policy.js';
export type { ToolPolicy, ToolPolicyConfig } from './tool-policy.js';
export { compileToolScopes, callsLackingScope } from './tool-scopes.js';
export type { ToolScopes } from './tool-scopes.js';
export { compileGlob, compileGlobs } from './glob.js';
export type { NameMatcher } from './glob.js';
export {
  refusedToolCalls,
  toolRefusal,
  toolNotAvailableMessage,
  malformedBodyAnswer,
  headerMismatchAnswer,
  bodyTooLargeAnswer,
  localAnswer,
  PARSE_ERROR_CODE,
  INVALID_REQUEST_CODE,
  TOOL_NOT_AVAILABLE_CODE,
  BATCH_REFUSED_CODE,
  HEADER_MISMATCH_CODE,
} from './refusals.js';
export type { LocalAnswer } from './refusals.js';
export {
  toolsListResponseRewrite,
  createJsonToolsListRewriter,
  createSseToolsListRewriter,
  DEFAULT_MAX_FILTERED_BYTES,
} from './tools-list-filter.js';
export type { ToolsListFilterOptions } from './tools-list-filter.js';
export { createSseRewriter } from './sse-rewriter.js';
export type { SseRewriterOptions } from './sse-rewriter.js';
export { inspectMcpRequest } from './inspect-request.js';
export type { Inspection, InspectionOptions, InspectionRefusal } from './inspect-request.js';
