import { concatBytes } from '../../crypto/encoding.js';
import { mediaTypeOf } from '../../domain/media-type.js';
import type { BodyRewriter, ResponseRewrite } from '../../proxy/forwarder.js';
import { idKey } from './jsonrpc.js';
import { idRoundTrips, messageSpans } from './raw-ids.js';
import { createSseRewriter } from './sse-rewriter.js';

/**
 * Removes the tools a user may not use from `tools/list` results, in `application/json`
 * bodies and `text/event-stream` responses alike. Only success responses whose id was a
 * `tools/list` request of this body are touched (or, with `requestIds: 'any'`, every response
 * carrying a `result.tools` array: for streams whose requests the proxy did not see, such as
 * a GET resuming with Last-Event-ID). Everything else passes byte for byte.
 *
 * Bounds: a JSON body, or one SSE event, over `maxBytes` (default 8 MB) is passed on
 * unfiltered and reported through `onOversize`; the stream is never cut. Calls stay
 * enforced regardless: a tool seen in such a list is still refused when called.
 */
export interface ToolsListFilterOptions {
  /** `idKey()`s of the body's tools/list requests (see `toolsListRequestIds`), or 'any'. */
  readonly requestIds: ReadonlySet<string> | 'any';
  readonly isAllowed: (toolName: string) => boolean;
  readonly maxBytes?: number;
  readonly onOversize?: (bytes: number) => void;
  /** Told the names removed from each rewritten result (for audit). */
  readonly onFiltered?: (removed: readonly string[]) => void;
}

export const DEFAULT_MAX_FILTERED_BYTES = 8 * 1024 * 1024;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface FilterState {
  /** Ids still expected; undefined in 'any' mode. */
  readonly pending: Set<string> | undefined;
  readonly options: ToolsListFilterOptions;
}

/** The message with its disallowed tools removed, or the same object when nothing changes. */
function filterMessage(message: unknown, state: FilterState): unknown {
  if (!isObject(message) || Object.hasOwn(message, 'method')) return message;
  const id = message['id'];
  if (typeof id !== 'string' && typeof id !== 'number') return message;
  if (state.pending !== undefined && !state.pending.delete(idKey(id))) return message;
  const result = message['result'];
  if (!isObject(result) || !Array.isArray(result['tools'])) return message;
  const tools = result['tools'] as unknown[];
  const removed: string[] = [];
  const kept = tools.filter((tool) => {
    if (!isObject(tool) || typeof tool['name'] !== 'string' || state.options.isAllowed(tool['name'])) return true;
    removed.push(tool['name']);
    return false;
  });
  if (removed.length === 0) return message;
  state.options.onFiltered?.(removed);
  // Spreads define own properties, so a "__proto__" member stays data, never a prototype.
  return { ...message, result: { ...result, tools: kept } };
}

/** JSON text of a message whose id may need its exact source text (`raw`). */
function serialize(message: unknown, raw: string | undefined): string {
  if (!isObject(message) || idRoundTrips(message['id']) || raw === undefined) return JSON.stringify(message);
  const { id: _id, ...rest } = message;
  const others = JSON.stringify(rest);
  return others === '{}' ? `{"id":${raw}}` : `{"id":${raw},${others.slice(1)}`;
}

/** The filtered JSON-RPC text (one message or a batch), or undefined when nothing changes. */
function filterText(text: string, state: FilterState): string | undefined {
  if (state.pending !== undefined && state.pending.size === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  let changed = false;
  const filtered = messages.map((message) => {
    const after = filterMessage(message, state);
    if (after !== message) changed = true;
    return after;
  });
  if (!changed) return undefined;
  // Unchanged messages keep their exact text; changed ones are re-serialized with their exact id.
  const spans = messageSpans(text);
  const parts = filtered.map((message, index) => {
    const span = spans[index]!;
    return message === messages[index] ? text.slice(span.start, span.end) : serialize(message, span.rawId);
  });
  return Array.isArray(parsed) ? `[${parts.join(',')}]` : parts[0];
}

function stateFor(options: ToolsListFilterOptions): FilterState {
  return { pending: options.requestIds === 'any' ? undefined : new Set(options.requestIds), options };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Buffers a JSON body (up to the bound), then filters it once complete. */
export function createJsonToolsListRewriter(options: ToolsListFilterOptions): BodyRewriter {
  const state = stateFor(options);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILTERED_BYTES;
  let chunks: Uint8Array[] = [];
  let total = 0;
  let passing = false;
  return {
    push(chunk) {
      if (passing) return [chunk];
      chunks.push(chunk);
      total += chunk.byteLength;
      if (total <= maxBytes) return [];
      passing = true;
      options.onOversize?.(total);
      const held = chunks;
      chunks = [];
      return held;
    },
    end() {
      if (passing || chunks.length === 0) return [];
      const body = chunks.length === 1 ? chunks[0]! : concatBytes(chunks, total);
      chunks = [];
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        return [body];
      }
      const filtered = filterText(text, state);
      return [filtered === undefined ? body : encoder.encode(filtered)];
    },
  };
}

/** Filters an SSE response event by event; passes the rest through once every expected id was answered. */
export function createSseToolsListRewriter(options: ToolsListFilterOptions): BodyRewriter {
  const state = stateFor(options);
  return createSseRewriter({
    rewriteData: (data) => filterText(data, state),
    done: () => state.pending !== undefined && state.pending.size === 0,
    maxEventBytes: options.maxBytes ?? DEFAULT_MAX_FILTERED_BYTES,
    ...(options.onOversize ? { onOversize: options.onOversize } : {}),
  });
}


/**
 * The `ForwardRequest.transformResponse` for a body with tools/list requests: rewrites 200
 * responses that are JSON or SSE, leaves every other response alone.
 */
export function toolsListResponseRewrite(options: ToolsListFilterOptions): ResponseRewrite {
  return (status, headers) => {
    if (status !== 200) return undefined;
    const type = mediaTypeOf(headers.get('content-type'));
    if (type === 'text/event-stream') return createSseToolsListRewriter(options);
    if (type === 'application/json' || type.endsWith('+json')) return createJsonToolsListRewriter(options);
    return undefined;
  };
}
