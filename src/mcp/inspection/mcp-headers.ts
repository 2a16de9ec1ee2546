import type { HeaderSource } from '../../domain/header-source.js';
import { decodeBase64 } from '../../crypto/encoding.js';
import type { JsonRpcSummary } from './jsonrpc.js';

/**
 * MCP 2026-07-28 (SEP-2243) mirrors body fields into request headers so intermediaries can
 * route without parsing: `Mcp-Method` = the JSON-RPC `method`; `Mcp-Name` = `params.name`
 * (tools/call, prompts/get) or `params.uri` (resources/read; clients also send it for
 * resources/subscribe). `Mcp-Name` may carry the Base64 sentinel `=?base64?…?=`, decoded
 * before comparing; values are case-sensitive. Anyone who processes the body must refuse a
 * disagreement (400, JSON-RPC -32020 HeaderMismatch), or a balancer routing on the header and
 * a server executing the body would act on different requests.
 *
 * Our rules:
 * - absent headers pass: clients before 2026-07-28 never send them, and the downstream
 *   server enforces presence for its own protocol version;
 * - a header that is present must equal the body's value; `Mcp-Name` on a message without
 *   `params.name`/`params.uri` (or `Mcp-Method` on a response) is a mismatch;
 * - a batch carrying either header is refused: 2026-07-28 has no batches, one header cannot
 *   describe several messages, and agreeing with one element would let the others ride along;
 * - `MCP-Protocol-Version` against `_meta` and `Mcp-Param-*` (which needs the tool's input
 *   schema) are left to the downstream server: the proxy's decisions depend on neither.
 */

export type McpHeaderName = 'mcp-method' | 'mcp-name';

export type McpHeaderCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly header: McpHeaderName;
      /** `batch`: a mirrored header on a batch; `malformed`: a bad Base64 sentinel; `mismatch`: disagrees with the body. */
      readonly reason: 'batch' | 'malformed' | 'mismatch';
    };


export type { HeaderSource };

const OK: McpHeaderCheck = { ok: true };
const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The header value with a Base64 sentinel decoded; `undefined` when the sentinel is malformed. */
export function decodeMcpHeaderValue(value: string): string | undefined {
  if (!value.startsWith('=?base64?') || !value.endsWith('?=') || value.length < 11) return value;
  const match = SENTINEL.exec(value);
  if (match === null) return undefined;
  try {
    return utf8.decode(decodeBase64(match[1]!));
  } catch {
    return undefined;
  }
}

export function checkMcpHeaders(headers: HeaderSource, summary: JsonRpcSummary): McpHeaderCheck {
  const method = headers.get('mcp-method');
  const name = headers.get('mcp-name');
  if (method === null && name === null) return OK;
  if (summary.batch) return { ok: false, header: method !== null ? 'mcp-method' : 'mcp-name', reason: 'batch' };

  const message = summary.messages[0]!;
  if (method !== null && method !== message.method) return { ok: false, header: 'mcp-method', reason: 'mismatch' };
  if (name !== null) {
    const decoded = decodeMcpHeaderValue(name);
    if (decoded === undefined) return { ok: false, header: 'mcp-name', reason: 'malformed' };
    if (message.mcpName === undefined || decoded !== message.mcpName) return { ok: false, header: 'mcp-name', reason: 'mismatch' };
  }
  return OK;
}
